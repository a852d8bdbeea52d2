/// The status and headers of an upstream response, assembled from curl's header lines.
public struct ResponseHead: Sendable, Equatable {
    public var status: Int = 0
    public var headers: [(name: String, value: String)] = []
    public var isComplete = false

    public init() {}

    public static func == (a: ResponseHead, b: ResponseHead) -> Bool {
        a.status == b.status && a.isComplete == b.isComplete
            && a.headers.map { "\($0.name):\($0.value)" } == b.headers.map { "\($0.name):\($0.value)" }
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
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: line[0..<end]), as: UTF8.self)
        if text.hasPrefix("HTTP/") {
            self = ResponseHead()
            let parts = text.split(separator: " ", maxSplits: 2)
            status = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
            return false
        }
        guard let colon = text.firstIndex(of: ":") else { return false }
        let name = String(text[..<colon])
        let value = String(text[text.index(after: colon)...]).trimmingASCIIWhitespace()
        headers.append((name, value))
        return false
    }

    public func value(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    public var isEventStream: Bool {
        value("content-type")?.lowercased().hasPrefix("text/event-stream") ?? false
    }

    /// Headers worth passing to the client: end-to-end ones, minus those the server recomputes.
    public var forwardableHeaders: [(name: String, value: String)] {
        headers.filter { !HopByHop.isHopByHop($0.name) && $0.name.lowercased() != "content-length" }
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
}
