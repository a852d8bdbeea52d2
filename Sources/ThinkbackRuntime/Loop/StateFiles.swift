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
    public static func tenantSecret(directory: String) throws -> [UInt8] {
        let path = directory + "/tenant.key"
        if let existing = try readFile(path) {
            guard existing.count >= 32 else { throw RuntimeError("\(path) is shorter than 32 bytes") }
            return existing
        }
        // SystemRandomNumberGenerator reads the kernel's CSPRNG (getrandom).
        var generator = SystemRandomNumberGenerator()
        let secret = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        if fd < 0 {
            // Another process created it first: use theirs.
            if errno == EEXIST, let theirs = try readFile(path), theirs.count >= 32 { return theirs }
            throw RuntimeError("cannot create \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        let written = secret.withUnsafeBytes { write(fd, $0.baseAddress, 32) }
        guard written == 32, fsync(fd) == 0 else { throw RuntimeError("cannot write \(path)") }
        return secret
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
