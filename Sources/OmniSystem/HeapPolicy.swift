import CSystemShim

/// How the C heap treats big buffers. omnid keeps its memory locked (mlockall), so whatever the
/// heap holds stays resident: a big buffer that is freed must go back to the kernel.
public enum HeapPolicy {
    /// Allocations of at least `bytes` are mmapped and unmapped when freed, always. glibc's
    /// default raises the threshold after the first such free, so the next big buffer (answer
    /// audio queued far ahead of the speaker by a fast or hostile server) would come from the
    /// heap and stay there, and RSS would climb with every flood instead of staying flat.
    public static func returnBigBuffers(atLeast bytes: Int = 256 * 1024) {
        _ = omni_fix_mmap_threshold(max(0, bytes))
    }
}
