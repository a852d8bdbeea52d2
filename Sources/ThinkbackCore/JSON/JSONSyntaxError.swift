/// A document is not valid JSON (RFC 8259).
///
/// `offset` is the byte offset in the scanned buffer where the problem was found (for an
/// unterminated string: where the string began); `reason` is a short English phrase suitable
/// for an error message ("unterminated string", "invalid UTF-8 in string", …).
public struct JSONSyntaxError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Byte offset of the offending byte in the buffer that was scanned.
    public var offset: Int
    /// A short description of what was wrong.
    public var reason: String

    /// Creates an error at `offset`.
    public init(offset: Int, reason: String) {
        self.offset = offset
        self.reason = reason
    }

    public var description: String { "invalid JSON at byte \(offset): \(reason)" }
}
