/// Error bodies thinkback itself produces (docs/product.md §6): the OpenAI shape
/// `{"error":{"message":…,"type":…,"code":…}}`.
public struct ProxyError: Sendable, Equatable {
    public var status: Int
    public var type: String
    public var code: String
    public var message: String

    public init(status: Int, type: String, code: String, message: String) {
        self.status = status
        self.type = type
        self.code = code
        self.message = message
    }

    public static func notFound(_ path: String) -> ProxyError {
        ProxyError(status: 404, type: "invalid_request_error", code: "not_found",
                   message: "thinkback: unknown route \(path)")
    }
    public static func methodNotAllowed(_ method: String, _ path: String) -> ProxyError {
        ProxyError(status: 405, type: "invalid_request_error", code: "method_not_allowed",
                   message: "thinkback: \(method) is not allowed on \(path)")
    }
    /// A request head that could be read two ways (RequestHeadCheck).
    public static func badRequest(_ reason: String) -> ProxyError {
        ProxyError(status: 400, type: "invalid_request_error", code: "bad_request",
                   message: "thinkback: malformed request: \(reason)")
    }
    public static func tooLarge(limit: Int) -> ProxyError {
        ProxyError(status: 413, type: "invalid_request_error", code: "request_too_large",
                   message: "thinkback: request body larger than \(limit) bytes")
    }
    public static func badJSON(offset: Int, reason: String) -> ProxyError {
        ProxyError(status: 400, type: "invalid_request_error", code: "invalid_json",
                   message: "thinkback: request body is not valid JSON at byte \(offset): \(reason)")
    }
    public static func unreachable(_ detail: String) -> ProxyError {
        ProxyError(status: 502, type: "upstream_error", code: "upstream_unreachable",
                   message: "thinkback: provider unreachable: \(detail)")
    }
    /// A whole answer larger than `--max-response-bytes`: not collected, not relayed.
    public static func responseTooLarge() -> ProxyError {
        ProxyError(status: 502, type: "upstream_error", code: "upstream_response_too_large",
                   message: "thinkback: the provider's answer is larger than --max-response-bytes")
    }
    public static func timeout(_ detail: String) -> ProxyError {
        ProxyError(status: 504, type: "upstream_error", code: "upstream_timeout",
                   message: "thinkback: provider timed out: \(detail)")
    }
    /// `miss = reject`: the reasoning of an assistant tool-call message is not cached.
    public static func reasoningMissing(messageIndex: Int) -> ProxyError {
        ProxyError(status: 409, type: "invalid_request_error", code: "reasoning_missing",
                   message: "thinkback: the reasoning_content of messages[\(messageIndex)] (an assistant tool call) is not cached and the miss strategy is reject; resend it with its reasoning_content or start a new conversation")
    }
    public static func draining() -> ProxyError {
        ProxyError(status: 503, type: "server_error", code: "draining",
                   message: "thinkback: shutting down, retry on another instance")
    }

    /// `{"error":{"message":…,"type":…,"code":…}}`
    public var openAIBody: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(96 + message.utf8.count)
        out.append(contentsOf: #"{"error":{"message":"#.utf8)
        JSONText.appendString(message, to: &out)
        out.append(contentsOf: #","type":"#.utf8)
        JSONText.appendString(type, to: &out)
        out.append(contentsOf: #","code":"#.utf8)
        JSONText.appendString(code, to: &out)
        out.append(contentsOf: "}}".utf8)
        return out
    }
}

/// Minimal JSON text writing for bodies thinkback builds itself.
public enum JSONText {
    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    /// Appends `s` as a JSON string literal: only `"`, `\` and control characters escaped.
    public static func appendString(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): out.append(contentsOf: [92, 34])
            case UInt8(ascii: "\\"): out.append(contentsOf: [92, 92])
            case 0x0A: out.append(contentsOf: [92, UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [92, UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [92, UInt8(ascii: "t")])
            case 0..<0x20:
                out.append(contentsOf: [92, UInt8(ascii: "u"), 48, 48, hex[Int(b >> 4)], hex[Int(b & 15)]])
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
