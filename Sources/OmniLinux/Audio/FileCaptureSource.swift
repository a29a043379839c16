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
// thread) and the file is handed to the page cache up front (POSIX_FADV_WILLNEED); each period
// is then one pread(2) on the audio thread — a system call that neither allocates nor waits on
// anything but the page cache, like the playback file's pwrite.

/// Audio-thread view of a capture file: plain values and pointers only.
struct FileCaptureState {
    var fd: Int32
    /// File offset of the first sample.
    var dataOffset: Int
    var totalFrames: Int
    var channels: Int
    var bytesPerSample: Int
    /// Frames read so far.
    var position: Int
    /// One period of file samples when they are wider than 16 bits (converted from here).
    var wide: UnsafeMutableRawPointer
    var wideFrames: Int
}

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
        let wideBytes = header.bytesPerSample > 2 ? period * header.channels * header.bytesPerSample : 16
        let wide = UnsafeMutableRawPointer.allocate(byteCount: wideBytes, alignment: 16)
        wide.initializeMemory(as: UInt8.self, repeating: 0, count: wideBytes)
        state = .allocate(capacity: 1)
        state.initialize(to: FileCaptureState(fd: fd, dataOffset: header.dataOffset, totalFrames: header.frames,
                                              channels: header.channels, bytesPerSample: header.bytesPerSample,
                                              position: 0, wide: wide, wideFrames: header.bytesPerSample > 2 ? period : 0))
        format = AudioDeviceFormat(name: name, backend: .file, rate: header.rate, channels: header.channels,
                                   sampleFormat: .s16, periodFrames: period, bufferFrames: period * max(2, bufferPeriods))
    }

    /// Locks what the audio thread touches of it (with the plan's other buffers).
    func lockState(_ locked: inout LockedRegions) {
        _ = locked.lock(state, bytes: MemoryLayout<FileCaptureState>.stride)
        if state.pointee.wideFrames > 0 {
            _ = locked.lock(state.pointee.wide, bytes: state.pointee.wideFrames * state.pointee.channels * state.pointee.bytesPerSample)
        }
    }

    deinit {
        Glibc.close(state.pointee.fd)
        state.pointee.wide.deallocate()
        state.deinitialize(count: 1)
        state.deallocate()
    }

    /// Audio thread: reads `frames` frames as interleaved s16 into `destination` (silence past
    /// the end, or where the file cannot be read). Returns `frames`.
    static func read(_ s: UnsafeMutablePointer<FileCaptureState>, into destination: UnsafeMutableRawPointer, frames: Int) -> Int {
        let channels = s.pointee.channels
        let width = s.pointee.bytesPerSample
        let out = destination.assumingMemoryBound(to: Int16.self)
        var n = min(frames, max(0, s.pointee.totalFrames - s.pointee.position))
        if width > 2 { n = min(n, s.pointee.wideFrames) }
        var got = 0
        if n > 0 {
            let target = width == 2 ? destination : s.pointee.wide
            let bytes = preadFully(s.pointee.fd, target, n * channels * width,
                                   at: s.pointee.dataOffset + s.pointee.position * channels * width)
            got = bytes / (channels * width)
            s.pointee.position += n
            if width > 2 {
                // The top two bytes of each little-endian sample, as WAV.decode does.
                let wide = s.pointee.wide.assumingMemoryBound(to: UInt8.self)
                for i in 0..<(got * channels) {
                    let o = i * width + width - 2
                    out[i] = Int16(bitPattern: UInt16(wide[o]) | UInt16(wide[o + 1]) << 8)
                }
            } else {
                #if _endian(big)
                for i in 0..<(got * channels) { out[i] = Int16(littleEndian: out[i]) }
                #endif
            }
        }
        if got < frames { (out + got * channels).update(repeating: 0, count: (frames - got) * channels) }
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
