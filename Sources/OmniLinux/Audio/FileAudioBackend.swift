#if canImport(Glibc)
import Glibc
#endif
import OmniCore

// The `file:` device backend, for the virtual board, the demo and benchmarks:
//   capture  = "file:/path/in.wav"   plays the WAV into the microphone side, then silence
//   playback = "file:/path/out.wav"  records what the speaker would have played
// Both are paced by the audio thread's clock (real time, or faster in tests), since a file
// has no clock of its own. The capture file is read whole when the device opens (off the
// audio thread); the audio thread copies from memory. The playback file is written with
// pwrite(2) from the audio thread (a syscall, no allocation); a period of pure silence is not
// written at all but left as a hole in the file (it reads back as zeros), so an idle speaker
// costs no file-system work; the file is extended over the holes and its header sizes are
// patched about once a second and when the device closes, so an interrupted run still leaves
// a readable file.
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

/// Audio-thread view of a capture file: trivially copyable, pointers only.
struct FileCaptureState {
    var samples: UnsafeMutablePointer<Int16>
    var totalFrames: Int
    var channels: Int
    var position: Int
}

final class FileCaptureSource {
    let state: UnsafeMutablePointer<FileCaptureState>
    let format: AudioDeviceFormat

    init(name: String, path: String, periodMs: Int, bufferPeriods: Int) throws {
        let bytes: [UInt8]
        do {
            bytes = try audioReadWholeFile(path)
        } catch {
            throw AudioDeviceError(device: name, operation: "read capture file", code: -error.errno)
        }
        let wav: WAVAudio
        do {
            wav = try WAV.decode(bytes)
        } catch {
            throw AudioDeviceError(device: name, operation: "decode capture file", code: -EINVAL, detail: "\(error)")
        }
        let count = max(1, wav.samples.count)
        let samples = UnsafeMutablePointer<Int16>.allocate(capacity: count)
        samples.initialize(repeating: 0, count: count)
        wav.samples.withUnsafeBufferPointer { src in
            if let base = src.baseAddress { samples.update(from: base, count: src.count) }
        }
        state = .allocate(capacity: 1)
        state.initialize(to: FileCaptureState(samples: samples, totalFrames: wav.frameCount, channels: wav.channels, position: 0))
        let period = max(16, wav.sampleRate * max(1, periodMs) / 1000)
        format = AudioDeviceFormat(name: name, backend: .file, rate: wav.sampleRate, channels: wav.channels,
                                   sampleFormat: .s16, periodFrames: period, bufferFrames: period * max(2, bufferPeriods))
    }

    deinit {
        state.pointee.samples.deallocate()
        state.deinitialize(count: 1)
        state.deallocate()
    }

    /// Audio thread: copies `frames` frames (silence past the end) into `destination`.
    static func read(_ s: UnsafeMutablePointer<FileCaptureState>, into destination: UnsafeMutableRawPointer, frames: Int) -> Int {
        let channels = s.pointee.channels
        let out = destination.assumingMemoryBound(to: Int16.self)
        let available = max(0, s.pointee.totalFrames - s.pointee.position)
        let n = min(frames, available)
        if n > 0 {
            out.update(from: s.pointee.samples + s.pointee.position * channels, count: n * channels)
            s.pointee.position += n
        }
        if n < frames { (out + n * channels).update(repeating: 0, count: (frames - n) * channels) }
        return frames
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
}

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
        state = .allocate(capacity: 1)
        state.initialize(to: FilePlaybackState(fd: fd, channels: 1, rate: rate, dataBytes: 0, bytesAtLastPatch: 0, writeErrno: 0))
        let period = max(16, rate * max(1, periodMs) / 1000)
        // A file has no hardware buffer; one period of look-ahead keeps a flush within a period.
        format = AudioDeviceFormat(name: name, backend: .file, rate: rate, channels: 1, sampleFormat: .s16,
                                   periodFrames: period, bufferFrames: period)
    }

    deinit {
        close()
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
    /// audio keeps flowing).
    static func write(_ s: UnsafeMutablePointer<FilePlaybackState>, _ source: UnsafeRawPointer, frames: Int,
                      silent: Bool = false) -> Int {
        let bytes = frames * s.pointee.channels * 2
        if !silent {
            var done = 0
            while done < bytes {
                let r = pwrite(s.pointee.fd, source + done, bytes - done, off_t(WAV.headerSize + s.pointee.dataBytes + done))
                if r < 0 {
                    if errno == EINTR { continue }
                    s.pointee.writeErrno = errno
                    break
                }
                done += r
            }
        }
        s.pointee.dataBytes += bytes
        if s.pointee.dataBytes - s.pointee.bytesAtLastPatch >= s.pointee.rate * 2 * s.pointee.channels {
            patchHeader(s)
        }
        return frames
    }

    /// Extends the file over trailing silence and writes the current sizes into the RIFF and
    /// data chunk headers (ftruncate and pwrite: no allocation).
    static func patchHeader(_ s: UnsafeMutablePointer<FilePlaybackState>) {
        _ = ftruncate(s.pointee.fd, off_t(WAV.headerSize + s.pointee.dataBytes))
        let data = UInt32(truncatingIfNeeded: s.pointee.dataBytes)
        var riff = (36 + data).littleEndian
        var dataLE = data.littleEndian
        _ = pwrite(s.pointee.fd, &riff, 4, 4)
        _ = pwrite(s.pointee.fd, &dataLE, 4, 40)
        s.pointee.bytesAtLastPatch = s.pointee.dataBytes
    }
}

struct FileReadError: Error {
    var errno: Int32
}

/// Reads a whole file (off the audio thread).
func audioReadWholeFile(_ path: String) throws(FileReadError) -> [UInt8] {
    let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw FileReadError(errno: errno) }
    defer { Glibc.close(fd) }
    var result: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            throw FileReadError(errno: errno)
        }
        if n == 0 { break }
        result.append(contentsOf: chunk[0..<n])
    }
    return result
}
