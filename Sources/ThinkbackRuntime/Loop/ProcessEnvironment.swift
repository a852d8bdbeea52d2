#if canImport(Glibc)
import Glibc
#endif

public enum ProcessEnvironment {
    /// The process environment as a dictionary.
    public static var current: [String: String] {
        var result: [String: String] = [:]
        var p = environ
        while let entry = p.pointee {
            let s = String(cString: entry)
            if let eq = s.firstIndex(of: "=") { result[String(s[..<eq])] = String(s[s.index(after: eq)...]) }
            p += 1
        }
        return result
    }
}

/// Writes a line to standard error (for messages before logging is set up).
public func printError(_ message: String) {
    var line = Array((message + "\n").utf8)
    line.withUnsafeMutableBytes { _ = write(2, $0.baseAddress, $0.count) }
}
