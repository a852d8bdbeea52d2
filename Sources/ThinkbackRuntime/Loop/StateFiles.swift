import ThinkbackCore
#if canImport(Glibc)
import Glibc
#endif

/// The state directory on disk: created owner-only, holding the tenant secret.
public enum StateFiles {
    /// Creates `path` (and parents) with mode 0700 if missing.
    public static func ensureDirectory(_ path: String) throws {
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            current += "/" + part
            if mkdir(current, 0o700) != 0 && errno != EEXIST {
                throw RuntimeError("cannot create \(current): \(String(cString: strerror(errno)))")
            }
        }
        var st = stat()
        guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else {
            throw RuntimeError("\(path) is not a directory")
        }
    }

    /// The 32-byte secret that keys tenant hashes, generated at first start and kept in
    /// `<dir>/tenant.key` (mode 0600). Instances sharing a store must share this file.
    ///
    /// Processes started together on a fresh directory agree on one secret: each writes its
    /// own to a temporary file and links it to `tenant.key`; the first link wins, the others
    /// read the winner's file, which is complete by construction.
    public static func tenantSecret(directory: String) throws -> [UInt8] {
        let path = directory + "/tenant.key"
        if let existing = try readSecret(path) { return existing }
        // SystemRandomNumberGenerator reads the kernel's CSPRNG (getrandom).
        var generator = SystemRandomNumberGenerator()
        let secret = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let temporary = directory + "/.tenant.key.\(getpid()).\(String(generator.next(), radix: 16))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw RuntimeError("cannot create \(temporary): \(String(cString: strerror(errno)))") }
        defer { unlink(temporary) }
        let written = secret.withUnsafeBytes { write(fd, $0.baseAddress, 32) }
        let synced = written == 32 && fsync(fd) == 0
        close(fd)
        guard synced else { throw RuntimeError("cannot write \(temporary)") }
        if link(temporary, path) == 0 {
            syncDirectory(directory)
            return secret
        }
        guard errno == EEXIST else { throw RuntimeError("cannot create \(path): \(String(cString: strerror(errno)))") }
        // Another process linked its secret first: use theirs.
        guard let theirs = try readSecret(path) else { throw RuntimeError("\(path) vanished while starting") }
        return theirs
    }

    /// The secret in `path`, nil if there is no such file. A file shorter than a secret may be
    /// an older thinkback writing it in place right now: read again for a moment before
    /// giving up.
    private static func readSecret(_ path: String) throws -> [UInt8]? {
        for _ in 0..<50 {
            guard let bytes = try readFile(path) else { return nil }
            if bytes.count >= 32 { return bytes }
            usleep(10_000)
        }
        throw RuntimeError("\(path) is shorter than 32 bytes")
    }

    /// Makes a new name in `directory` durable (best effort).
    static func syncDirectory(_ directory: String) {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }

    static func readFile(_ path: String) throws -> [UInt8]? {
        let fd = open(path, O_RDONLY)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw RuntimeError("cannot read \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            out += buf[0..<n]
        }
        return out
    }
}

extension StateFiles {
    /// `<dir>/proxy-keys` (issue 20), or an empty set when there is none.
    public static func proxyKeys(directory: String) throws -> ProxyKeySet {
        guard let bytes = try readFile(directory + "/proxy-keys") else { return ProxyKeySet() }
        do {
            return try ProxyKeySet(parsing: String(decoding: bytes, as: UTF8.self))
        } catch {
            throw RuntimeError("\(directory)/proxy-keys: \(error)")
        }
    }

    /// Replaces `<dir>/proxy-keys` (mode 0600) with `keys`, atomically (a temporary file
    /// renamed over it).
    public static func writeProxyKeys(_ keys: ProxyKeySet, directory: String) throws {
        let path = directory + "/proxy-keys"
        let temporary = path + ".\(getpid()).tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw RuntimeError("cannot create \(temporary): \(String(cString: strerror(errno)))") }
        let text = Array(keys.text.utf8)
        let written = text.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let ok = written == text.count && fsync(fd) == 0
        close(fd)
        guard ok, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw RuntimeError("cannot write \(path): \(String(cString: strerror(errno)))")
        }
        syncDirectory(directory)
    }
}
