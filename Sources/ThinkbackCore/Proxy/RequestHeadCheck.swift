/// What makes a request head ambiguous to parse, and so a way to smuggle a second request past
/// one reader and into another (RFC 9112 §6.3, RFC 9110 §5.5): evhttp accepts some of these,
/// so every request head is checked here before anything else; a problem is answered 400 and
/// the connection closed, so nothing after it on the connection is read as a request.
///
/// Feed it every header as received (`add`), then read `problem`.
public struct RequestHeadCheck: Sendable {
    /// Why the head is refused; nil while it is fine.
    public private(set) var problem: String?
    private var contentLength: [UInt8]?
    private var sawTransferEncoding = false

    public init() {}

    /// One header line's name and value, as received.
    public mutating func add(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        guard problem == nil else { return }
        guard !name.isEmpty, name.allSatisfy(Self.isTokenByte) else {
            problem = "a header name holds a character a token does not allow"
            return
        }
        // Field values: visible characters, spaces and tabs, obs-text; never a control
        // character (a CR, LF or NUL would let one reader see a line break another does not).
        guard !value.contains(where: { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7F }) else {
            problem = "a header value holds a control character"
            return
        }
        if Self.equalsIgnoringCase(name, "content-length") {
            // One length, however often it is repeated; a list of equal values is one value.
            for element in value.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false) {
                let digits = Array(Self.trimmed(UnsafeRawBufferPointer(rebasing: element)))
                guard !digits.isEmpty, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
                    problem = "Content-Length is not a number"
                    return
                }
                if let seen = contentLength, seen != digits {
                    problem = "conflicting Content-Length values"
                    return
                }
                contentLength = digits
            }
        } else if Self.equalsIgnoringCase(name, "transfer-encoding") {
            guard !sawTransferEncoding, Self.equalsIgnoringCase(Self.trimmed(value), "chunked") else {
                problem = "a Transfer-Encoding other than one chunked"
                return
            }
            sawTransferEncoding = true
        }
        if contentLength != nil && sawTransferEncoding {
            problem = "both Content-Length and Transfer-Encoding"
        }
    }

    /// RFC 9110 §5.6.2 tchar.
    static func isTokenByte(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
             UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
             UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    static func trimmed(_ bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        var lo = 0
        var hi = bytes.count
        while lo < hi, bytes[lo] == 0x20 || bytes[lo] == 0x09 { lo += 1 }
        while hi > lo, bytes[hi - 1] == 0x20 || bytes[hi - 1] == 0x09 { hi -= 1 }
        return UnsafeRawBufferPointer(rebasing: bytes[lo ..< hi])
    }

    static func equalsIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ lower: StaticString) -> Bool {
        guard bytes.count == lower.utf8CodeUnitCount else { return false }
        let l = UnsafeRawBufferPointer(start: lower.utf8Start, count: lower.utf8CodeUnitCount)
        for i in 0 ..< bytes.count {
            var c = bytes[i]
            if c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z") { c |= 0x20 }
            if c != l[i] { return false }
        }
        return true
    }
}
