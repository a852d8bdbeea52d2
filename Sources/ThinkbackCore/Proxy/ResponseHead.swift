/// The status and headers of an upstream response, assembled from curl's header lines.
///
/// Per-request hot path: the lines are kept as bytes (each name and value NUL-terminated in
/// one buffer, ready for evhttp), and the two facts the proxy acts on — an event-stream
/// content type, `Retry-After` — are noted as the lines pass. Strings only on demand.
public struct ResponseHead: Sendable, Equatable {
    public private(set) var status: Int = 0
    public private(set) var isComplete = false
    public private(set) var isEventStream = false
    /// `Retry-After`, as sent.
    public private(set) var retryAfter: String?
    /// name NUL value NUL, per header.
    private var storage: [UInt8] = []
    /// Offsets into `storage` of each header's name and value.
    private var fields: [(name: Int, value: Int, forwardable: Bool)] = []

    public init() {}

    public static func == (a: ResponseHead, b: ResponseHead) -> Bool {
        a.status == b.status && a.isComplete == b.isComplete && a.storage == b.storage
    }

    /// Feeds one header line (CRLF included). Returns true when the final head is complete:
    /// interim 1xx responses are discarded.
    public mutating func feed(line: UnsafeRawBufferPointer) -> Bool {
        var end = line.count
        while end > 0, line[end - 1] == 0x0A || line[end - 1] == 0x0D { end -= 1 }
        if end == 0 {
            if (100...199).contains(status) {
                self = ResponseHead()
                return false
            }
            isComplete = status != 0
            return isComplete
        }
        let bytes = UnsafeRawBufferPointer(rebasing: line[0 ..< end])
        if bytes.starts(with: "HTTP/".utf8) {
            self = ResponseHead()
            // "HTTP/1.1 200 OK", "HTTP/2 200": the digits after the first space.
            guard let space = bytes.firstIndex(of: 0x20) else { return false }
            var i = space + 1
            var code = 0
            while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39, code < 1000 {
                code = code * 10 + Int(bytes[i] - 0x30)
                i += 1
            }
            status = code
            return false
        }
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")) else { return false }
        var valueStart = colon + 1
        var valueEnd = bytes.count
        while valueStart < valueEnd, bytes[valueStart] == 0x20 || bytes[valueStart] == 0x09 { valueStart += 1 }
        while valueEnd > valueStart, bytes[valueEnd - 1] == 0x20 || bytes[valueEnd - 1] == 0x09 { valueEnd -= 1 }
        let name = UnsafeRawBufferPointer(rebasing: bytes[0 ..< colon])
        let value = UnsafeRawBufferPointer(rebasing: bytes[valueStart ..< valueEnd])
        if HopByHop.equalsIgnoringCase(name, "content-type") {
            isEventStream = HopByHop.hasPrefixIgnoringCase(value, "text/event-stream")
        } else if HopByHop.equalsIgnoringCase(name, "retry-after") {
            retryAfter = String(decoding: value, as: UTF8.self)
        }
        let nameOffset = storage.count
        storage.append(contentsOf: name)
        storage.append(0)
        let valueOffset = storage.count
        storage.append(contentsOf: value)
        storage.append(0)
        fields.append((nameOffset, valueOffset, !HopByHop.isHopByHop(name)))
        return false
    }

    /// Calls `body` with each header worth passing to the client (end-to-end ones, minus those
    /// the server recomputes), as C strings valid during the call.
    public func forEachForwardable(_ body: (UnsafePointer<CChar>, UnsafePointer<CChar>) -> Void) {
        storage.withUnsafeBytes { raw in
            guard let base = raw.baseAddress?.assumingMemoryBound(to: CChar.self) else { return }
            for f in fields where f.forwardable { body(base + f.name, base + f.value) }
        }
    }

    /// All headers as strings (tests, diagnostics).
    public var headers: [(name: String, value: String)] {
        fields.map { (string(at: $0.name), string(at: $0.value)) }
    }

    /// The forwardable headers as strings (tests, diagnostics).
    public var forwardableHeaders: [(name: String, value: String)] {
        fields.filter(\.forwardable).map { (string(at: $0.name), string(at: $0.value)) }
    }

    public func value(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    private func string(at offset: Int) -> String {
        let end = storage[offset...].firstIndex(of: 0) ?? storage.count
        return String(decoding: storage[offset ..< end], as: UTF8.self)
    }
}

/// Hop-by-hop and connection-specific headers (RFC 9110 §7.6.1) and those thinkback sets itself.
public enum HopByHop {
    private static let names: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization",
        "te", "trailer", "transfer-encoding", "upgrade", "host", "content-length", "expect",
        "accept-encoding",
    ]
    public static func isHopByHop(_ name: String) -> Bool { names.contains(name.lowercased()) }

    private static let nameBytes: [[UInt8]] = names.map { Array($0.utf8) }

    /// `isHopByHop` over raw bytes, without building a string.
    public static func isHopByHop(_ name: UnsafeRawBufferPointer) -> Bool {
        for candidate in nameBytes where candidate.count == name.count {
            if equalsIgnoringCase(name, candidate) { return true }
        }
        return false
    }

    /// ASCII case-insensitive equality with a lowercase `literal`.
    public static func equalsIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ literal: some Collection<UInt8>) -> Bool {
        bytes.count == literal.count && hasPrefixIgnoringCase(bytes, literal)
    }

    public static func equalsIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ literal: String) -> Bool {
        equalsIgnoringCase(bytes, literal.utf8)
    }

    /// ASCII case-insensitive prefix test against a lowercase `literal`.
    public static func hasPrefixIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ literal: some Collection<UInt8>) -> Bool {
        guard bytes.count >= literal.count else { return false }
        var i = 0
        for c in literal {
            var b = bytes[i]
            if b >= 0x41 && b <= 0x5A { b += 0x20 }
            if b != c { return false }
            i += 1
        }
        return true
    }

    public static func hasPrefixIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ literal: String) -> Bool {
        hasPrefixIgnoringCase(bytes, literal.utf8)
    }
}
