#if canImport(Glibc)
import Glibc
#endif
import OmniCore
import OmniSystem
import Logging

// The control socket's file: created with mode 0660 under a temporary name and moved into
// place (it never exists at its path with the wrong mode), a stale one from a crashed omnid
// replaced, a live one never stolen, and on stop only our own file removed.

enum ControlSocketFile {
    /// The file's identity (device, inode), so stop() removes only the socket it created.
    struct Identity: Sendable, Equatable {
        var device: UInt64
        var inode: UInt64
    }

    /// Binds and listens on `path` (non-blocking, close-on-exec); returns the socket and the
    /// identity of the file it created.
    static func bind(_ path: String, logger: Logger) throws(ControlError) -> (fd: Int32, identity: Identity?) {
        let key = "[control] socket"
        guard UnixSocketAddress(path) != nil, UnixSocketAddress(path + UnixSocketPath.temporarySuffix) != nil else {
            throw ControlError("\(key) \(path): too long for a Unix socket path (at most 103 bytes)")
        }
        let dir = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        var st = stat()
        if !dir.isEmpty && stat(dir, &st) != 0 {
            throw ControlError("\(key) \(path): directory \(dir) does not exist (\(controlErrnoText(errno))); "
                + "under systemd RuntimeDirectory=omnid creates /run/omnid")
        }
        if lstat(path, &st) == 0 {
            guard (st.st_mode & S_IFMT) == S_IFSOCK else {
                throw ControlError("\(key) \(path) exists and is not a socket; remove it or choose another path")
            }
            if someoneListens(path) {
                throw ControlError("\(key) \(path): another omnid is already listening there")
            }
            unlink(path)
            logger.info("removed stale control socket \(path)")
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw ControlError("control socket: socket() failed: \(controlErrnoText(errno))") }
        let tmp = path + UnixSocketPath.temporarySuffix
        unlink(tmp)
        let bound = UnixSocketAddress(tmp)!.withSockaddr { Glibc.bind(fd, $0, $1) }
        guard bound == 0 else {
            let e = errno
            close(fd)
            let hint = e == EACCES ? "; omnid needs write access to \(dir.isEmpty ? "." : dir)" : ""
            throw ControlError("\(key) \(path): bind failed: \(controlErrnoText(e))\(hint)")
        }
        guard chmod(tmp, 0o660) == 0, rename(tmp, path) == 0 else {
            let e = errno
            close(fd)
            unlink(tmp)
            throw ControlError("\(key) \(path): could not set mode 0660 and move the socket into place: \(controlErrnoText(e))")
        }
        guard listen(fd, ControlLimits.listenBacklog) == 0 else {
            let e = errno
            close(fd)
            unlink(path)
            throw ControlError("\(key) \(path): listen failed: \(controlErrnoText(e))")
        }
        let identity = lstat(path, &st) == 0 ? Identity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino)) : nil
        return (fd, identity)
    }

    /// Removes `path` if it is still the file we created (not one a newer omnid put there).
    static func remove(_ path: String, ifItIs identity: Identity?) {
        guard let identity else { return }
        var st = stat()
        if lstat(path, &st) == 0, UInt64(st.st_dev) == identity.device, UInt64(st.st_ino) == identity.inode {
            unlink(path)
        }
    }

    /// Whether a server accepts connections on `path` (a live omnid, not a stale file). A
    /// listener whose queue stays full for a second is alive too (connect() would otherwise wait
    /// for it for ever).
    static func someoneListens(_ path: String) -> Bool {
        guard let addr = UnixSocketAddress(path) else { return false }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var tv = timeval(tv_sec: 1, tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let rc = addr.withSockaddr { connect(fd, $0, $1) }
        return rc == 0 || errno == EAGAIN
    }
}
