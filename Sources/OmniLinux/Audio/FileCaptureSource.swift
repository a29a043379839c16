#if canImport(Glibc)
import Glibc
#endif
import OmniCore

// The `file:` backend's microphone: a WAV file (integer PCM, 16, 24 or 32 bits, any channel
// count) streamed by the audio thread, one period per read, then silence after its end.
//
// Streamed rather than read whole into memory: a recording of a few minutes would otherwise
// sit in the process for its whole life (and twice over while decoding), which is memory a
// real microphone does not cost. The header is parsed when the device opens (off the audio
// thread) and the file is handed to the page cache up front (POSIX_FADV_WILLNEED); the audio
// thread then reads `readAheadPeriods` periods at a time with one pread(2) — a system call that
// neither allocates nor waits on anything but the page cache, like the playback file's pwrite —
// into a buffer allocated here, and hands out one period per read from it. (One pread per
// period cost about a sixth of the audio thread's CPU in the conversation benchmark.)

/// Audio-thread view of a capture file: plain values and pointers only.
struct FileCaptureState {
    var fd: Int32
    /// File offset of the first sample.
    var dataOffset: Int
    var totalFrames: Int
    var channels: Int
    var bytesPerSample: Int
    /// Frames handed out so far.
    var position: Int
    /// File samples read ahead, as they are in the file: frames [aheadStart, aheadStart + aheadCount).
    var ahead: UnsafeMutableRawPointer
    var aheadCapacity: Int
    var aheadStart: Int
    var aheadCount: Int
}

/// Periods read from the capture file per pread(2).
let readAheadPeriods = 10

final class FileCaptureSource {
    let state: UnsafeMutablePointer<FileCaptureState>
    let format: AudioDeviceFormat

    init(name: String, path: String, periodMs: Int, bufferPeriods: Int) throws {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw AudioDeviceError(device: name, operation: "read capture file", code: -errno) }
        let header: WAVStreamHeader
        do {
            header = try WAVStreamHeader(fd: fd)
        } catch {
            Glibc.close(fd)
            throw AudioDeviceError(device: name, operation: "decode capture file", code: -EINVAL, detail: "\(error)")
        }
        _ = posix_fadvise(fd, 0, 0, POSIX_FADV_WILLNEED)
        let period = max(16, header.rate * max(1, periodMs) / 1000)
        let aheadFrames = period * readAheadPeriods
        let aheadBytes = aheadFrames * header.channels * header.bytesPerSample
        let ahead = UnsafeMutableRawPointer.allocate(byteCount: aheadBytes, alignment: 16)
        ahead.initializeMemory(as: UInt8.self, repeating: 0, count: aheadBytes)
        state = .allocate(capacity: 1)
        state.initialize(to: FileCaptureState(fd: fd, dataOffset: header.dataOffset, totalFrames: header.frames,
                                              channels: header.channels, bytesPerSample: header.bytesPerSample,
                                              position: 0, ahead: ahead, aheadCapacity: aheadFrames,
                                              aheadStart: 0, aheadCount: 0))
        format = AudioDeviceFormat(name: name, backend: .file, rate: header.rate, channels: header.channels,
                                   sampleFormat: .s16, periodFrames: period, bufferFrames: period * max(2, bufferPeriods))
    }

    /// Locks what the audio thread touches of it (with the plan's other buffers).
    func lockState(_ locked: inout LockedRegions) {
        _ = locked.lock(state, bytes: MemoryLayout<FileCaptureState>.stride)
        _ = locked.lock(state.pointee.ahead,
                        bytes: state.pointee.aheadCapacity * state.pointee.channels * state.pointee.bytesPerSample)
    }

    deinit {
        Glibc.close(state.pointee.fd)
        state.pointee.ahead.deallocate()
        state.deinitialize(count: 1)
        state.deallocate()
    }

    /// Audio thread: reads `frames` frames as interleaved s16 into `destination` (silence past
    /// the end, or where the file cannot be read). Returns `frames`.
    static func read(_ s: UnsafeMutablePointer<FileCaptureState>, into destination: UnsafeMutableRawPointer, frames: Int) -> Int {
        let channels = s.pointee.channels
        let width = s.pointee.bytesPerSample
        let frameBytes = channels * width
        let out = destination.assumingMemoryBound(to: Int16.self)
        var got = 0
        while got < frames, s.pointee.position < s.pointee.totalFrames {
            if s.pointee.position >= s.pointee.aheadStart + s.pointee.aheadCount || s.pointee.position < s.pointee.aheadStart {
                // Refill from the file: up to `aheadCapacity` frames from the current position.
                let want = min(s.pointee.aheadCapacity, s.pointee.totalFrames - s.pointee.position)
                let bytes = preadFully(s.pointee.fd, s.pointee.ahead, want * frameBytes,
                                       at: s.pointee.dataOffset + s.pointee.position * frameBytes)
                s.pointee.aheadStart = s.pointee.position
                s.pointee.aheadCount = bytes / frameBytes
                if s.pointee.aheadCount == 0 { break }  // unreadable: silence from here
            }
            let offset = s.pointee.position - s.pointee.aheadStart
            let n = min(frames - got, s.pointee.aheadCount - offset)
            let from = s.pointee.ahead + offset * frameBytes
            if width == 2 {
                (destination + got * frameBytes).copyMemory(from: from, byteCount: n * frameBytes)
                #if _endian(big)
                for i in (got * channels)..<((got + n) * channels) { out[i] = Int16(littleEndian: out[i]) }
                #endif
            } else {
                // The top two bytes of each little-endian sample, as WAV.decode does.
                let wide = from.assumingMemoryBound(to: UInt8.self)
                for i in 0..<(n * channels) {
                    let o = i * width + width - 2
                    out[got * channels + i] = Int16(bitPattern: UInt16(wide[o]) | UInt16(wide[o + 1]) << 8)
                }
            }
            got += n
            s.pointee.position += n
        }
        // Past the end (or unreadable): silence, and the position moves on as a device's would.
        if got < frames {
            (out + got * channels).update(repeating: 0, count: (frames - got) * channels)
            s.pointee.position = min(s.pointee.totalFrames, s.pointee.position + frames - got)
        }
        return frames
    }

    /// pread until `count` bytes or the end of the file / an error; returns bytes read.
    private static func preadFully(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int, at offset: Int) -> Int {
        var done = 0
        while done < count {
            let r = pread(fd, buffer + done, count - done, off_t(offset + done))
            if r > 0 {
                done += r
            } else if r < 0 && errno == EINTR {
                continue
            } else {
                break
            }
        }
        return done
    }
}

/// Where the samples of a WAV file are, read from its chunk headers (no samples are read).
struct WAVStreamHeader {
    var rate: Int
    var channels: Int
    var bytesPerSample: Int
    var dataOffset: Int
    var frames: Int

    init(fd: Int32) throws(WAVError) {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .truncated }
        let fileSize = Int(st.st_size)
        var head = [UInt8](repeating: 0, count: 40)
        func read(_ count: Int, at offset: Int) -> Bool {
            head.withUnsafeMutableBytes { pread(fd, $0.baseAddress, count, off_t(offset)) } == count
        }
        func u16(_ o: Int) -> Int { Int(head[o]) | Int(head[o + 1]) << 8 }
        func u32(_ o: Int) -> Int { u16(o) | u16(o + 2) << 16 }
        func tag(_ o: Int) -> String { String(decoding: head[o..<(o + 4)], as: UTF8.self) }
        guard read(12, at: 0), tag(0) == "RIFF", tag(8) == "WAVE" else { throw .notRIFFWave }
        var offset = 12
        var format: (tag: Int, channels: Int, rate: Int, bits: Int)?
        while offset + 8 <= fileSize, read(8, at: offset) {
            let id = tag(0)
            var size = u32(4)
            let body = offset + 8
            if id == "fmt " {
                guard size >= 16, read(min(size, 40), at: body) else { throw .truncated }
                var formatTag = u16(0)
                if formatTag == 0xFFFE, size >= 40 { formatTag = u16(24) }  // the sub-format GUID's first bytes
                format = (formatTag, u16(2), u32(4), u16(14))
            } else if id == "data" {
                guard let f = format else { throw .missingChunk("fmt ") }
                guard f.tag == 1 else { throw .unsupportedFormat("format tag \(f.tag), only integer PCM") }
                guard f.channels > 0, f.rate > 0 else { throw .unsupportedFormat("\(f.channels) channels at \(f.rate) Hz") }
                guard [16, 24, 32].contains(f.bits) else { throw .unsupportedFormat("\(f.bits) bits per sample") }
                // Streams that never patched their sizes say 0 or 0xFFFFFFFF: take what is there.
                if size == 0 || size == 0xFFFF_FFFF || body + size > fileSize { size = fileSize - body }
                rate = f.rate
                channels = f.channels
                bytesPerSample = f.bits / 8
                dataOffset = body
                frames = size / bytesPerSample / f.channels
                return
            }
            offset = body + size + (size & 1)
        }
        throw .missingChunk(format == nil ? "fmt " : "data")
    }
}
