#if canImport(Glibc)
import Glibc
#endif
import OmniCore

// The `file:` device backend, for the virtual board, the demo and benchmarks:
//   capture  = "file:/path/in.wav"   plays the WAV into the microphone side, then silence
//   playback = "file:/path/out.wav"  records what the speaker would have played
// Both are paced by the audio thread's clock (real time, or faster in tests), since a file
// has no clock of its own. The capture file is streamed by the audio thread
// (FileCaptureSource.swift). The playback file is written with
// pwrite(2) from the audio thread (a syscall, no allocation), `writeBehindPeriods` periods at a
// time from a buffer allocated when it opens (one pwrite per period was a sixth of the audio
// thread's CPU while an answer played); a period of pure silence is not written at all but left
// as a hole in the file (it reads back as zeros), so an idle speaker costs no file-system work,
// and it writes out what is buffered, so an answer is in the file as soon as it has played; the
// file is extended over the holes and its header sizes are patched about once a second and
// when the device closes, so an interrupted run still leaves a readable file.
//
// ALSA's own `file:` PCM alias is shadowed by this prefix; name it through an ALSA config
// file if it is ever needed.

enum FileBackend {
    static let prefix = "file:"

    /// The path when `name` selects the file backend.
    static func path(of name: String) -> String? {
        name.hasPrefix(prefix) ? String(name.dropFirst(prefix.count)) : nil
    }
}

/// Audio-thread view of a playback file.
struct FilePlaybackState {
    var fd: Int32
    var channels: Int
    var rate: Int
    var dataBytes: Int
    var bytesAtLastPatch: Int
    var writeErrno: Int32
    /// Audio not yet written: `pendingBytes` bytes that belong at data offset `dataBytes - pendingBytes`.
    var pending: UnsafeMutableRawPointer
    var pendingCapacity: Int
    var pendingBytes: Int
}

/// Periods of playback audio collected per pwrite(2).
let writeBehindPeriods = 10

final class FilePlaybackSink {
    let state: UnsafeMutablePointer<FilePlaybackState>
    let format: AudioDeviceFormat
    private var closed = false

    init(name: String, path: String, rate: Int, periodMs: Int) throws {
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw AudioDeviceError(device: name, operation: "create playback file", code: -errno) }
        let header = WAV.header(sampleRate: rate, channels: 1, dataBytes: 0)
        let written = header.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard written == header.count else {
            let e = errno
            Glibc.close(fd)
            throw AudioDeviceError(device: name, operation: "write playback file header", code: -e)
        }
        let period = max(16, rate * max(1, periodMs) / 1000)
        let capacity = period * 2 * writeBehindPeriods
        let pending = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        pending.initializeMemory(as: UInt8.self, repeating: 0, count: capacity)
        state = .allocate(capacity: 1)
        state.initialize(to: FilePlaybackState(fd: fd, channels: 1, rate: rate, dataBytes: 0, bytesAtLastPatch: 0,
                                               writeErrno: 0, pending: pending, pendingCapacity: capacity, pendingBytes: 0))
        // A file has no hardware buffer; one period of look-ahead keeps a flush within a period.
        format = AudioDeviceFormat(name: name, backend: .file, rate: rate, channels: 1, sampleFormat: .s16,
                                   periodFrames: period, bufferFrames: period)
    }

    /// Locks what the audio thread touches of it (with the plan's other buffers).
    func lockState(_ locked: inout LockedRegions) {
        _ = locked.lock(state, bytes: MemoryLayout<FilePlaybackState>.stride)
        _ = locked.lock(state.pointee.pending, bytes: state.pointee.pendingCapacity)
    }

    deinit {
        close()
        state.pointee.pending.deallocate()
        state.deinitialize(count: 1)
        state.deallocate()
    }

    func close() {
        guard !closed else { return }
        closed = true
        FilePlaybackSink.patchHeader(state)
        Glibc.close(state.pointee.fd)
    }

    /// Audio thread: appends `frames` frames; `silent` frames are all zero and become a hole.
    /// Returns frames written (all of them: a failing disk is remembered in `writeErrno`, the
    /// audio keeps flowing). Audio is collected and written out when the buffer is full, at a
    /// silent period, and with the header patch.
    static func write(_ s: UnsafeMutablePointer<FilePlaybackState>, _ source: UnsafeRawPointer, frames: Int,
                      silent: Bool = false) -> Int {
        let bytes = frames * s.pointee.channels * 2
        if silent {
            flush(s)
        } else {
            if s.pointee.pendingBytes + bytes > s.pointee.pendingCapacity { flush(s) }
            if bytes > s.pointee.pendingCapacity {
                pwriteFully(s, source, bytes, at: s.pointee.dataBytes)
            } else {
                (s.pointee.pending + s.pointee.pendingBytes).copyMemory(from: source, byteCount: bytes)
                s.pointee.pendingBytes += bytes
            }
        }
        s.pointee.dataBytes += bytes
        if s.pointee.dataBytes - s.pointee.bytesAtLastPatch >= s.pointee.rate * 2 * s.pointee.channels {
            patchHeader(s)
        }
        return frames
    }

    /// Audio thread: takes back everything from frame `frames` on (audio written ahead that
    /// will not play, AudioRTLoop+Ahead.swift): the collected part is dropped, what is already
    /// in the file is cut off (ftruncate: no allocation), and writing goes on from there.
    static func rewind(_ s: UnsafeMutablePointer<FilePlaybackState>, toFrames frames: Int) {
        let bytes = frames * s.pointee.channels * 2
        guard bytes < s.pointee.dataBytes else { return }
        let flushed = s.pointee.dataBytes - s.pointee.pendingBytes
        if bytes >= flushed {
            s.pointee.pendingBytes = bytes - flushed
        } else {
            s.pointee.pendingBytes = 0
            _ = ftruncate(s.pointee.fd, off_t(WAV.headerSize + bytes))
        }
        s.pointee.dataBytes = bytes
        s.pointee.bytesAtLastPatch = min(s.pointee.bytesAtLastPatch, bytes)
    }

    /// Writes out the collected audio.
    static func flush(_ s: UnsafeMutablePointer<FilePlaybackState>) {
        let n = s.pointee.pendingBytes
        guard n > 0 else { return }
        s.pointee.pendingBytes = 0
        pwriteFully(s, UnsafeRawPointer(s.pointee.pending), n, at: s.pointee.dataBytes - n)
    }

    private static func pwriteFully(_ s: UnsafeMutablePointer<FilePlaybackState>, _ source: UnsafeRawPointer, _ bytes: Int,
                                    at dataOffset: Int) {
        var done = 0
        while done < bytes {
            let r = pwrite(s.pointee.fd, source + done, bytes - done, off_t(WAV.headerSize + dataOffset + done))
            if r < 0 {
                if errno == EINTR { continue }
                s.pointee.writeErrno = errno
                break
            }
            done += r
        }
    }

    /// Extends the file over trailing silence and writes the current sizes into the RIFF and
    /// data chunk headers (ftruncate and pwrite: no allocation).
    static func patchHeader(_ s: UnsafeMutablePointer<FilePlaybackState>) {
        flush(s)
        _ = ftruncate(s.pointee.fd, off_t(WAV.headerSize + s.pointee.dataBytes))
        let data = UInt32(truncatingIfNeeded: s.pointee.dataBytes)
        var riff = (36 + data).littleEndian
        var dataLE = data.littleEndian
        _ = pwrite(s.pointee.fd, &riff, 4, 4)
        _ = pwrite(s.pointee.fd, &dataLE, 4, 40)
        s.pointee.bytesAtLastPatch = s.pointee.dataBytes
    }
}
