/// An error thinkback answers itself (product.md §6), in the OpenAI shape
/// `{"error":{"message":…,"type":…,"code":…}}`. It says where it came from and whether a
/// retry is still allowed (style.md "Errors"): a struct around a private enum, so that new
/// errors break no caller (async-http-client `HTTPClientError`).
public struct ProxyError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Where an error came from.
    public enum Origin: String, Sendable {
        /// The request itself: sent again, it fails the same way.
        case client
        /// The provider: unreachable, silent, or its answer unusable.
        case upstream
        /// thinkback itself (shutting down, out of memory).
        case `internal`
    }

    private enum Kind: Hashable, Sendable {
        case notFound(path: String)
        case methodNotAllowed(method: String, path: String)
        case badRequest(reason: String)
        case tooLarge(limit: Int)
        case badJSON(offset: Int, reason: String)
        case reasoningMissing(messageIndex: Int, thinkingBlocks: Bool)
        case unreachable(detail: String)
        case timeout(detail: String)
        case responseTooLarge
        case streamBroken(detail: String)
        case draining
        case outOfMemory(what: String)
        case unauthorized
        case proxyKeyBusy(limit: Int)
        case forbidden(reason: String)
        case storeFailed
    }

    private let kind: Kind

    private init(_ kind: Kind) {
        self.kind = kind
    }

    public static func notFound(_ path: String) -> ProxyError { ProxyError(.notFound(path: path)) }
    public static func methodNotAllowed(_ method: String, _ path: String) -> ProxyError {
        ProxyError(.methodNotAllowed(method: method, path: path))
    }
    /// A request head that could be read two ways (RequestHeadCheck).
    public static func badRequest(_ reason: String) -> ProxyError { ProxyError(.badRequest(reason: reason)) }
    public static func tooLarge(limit: Int) -> ProxyError { ProxyError(.tooLarge(limit: limit)) }
    public static func badJSON(offset: Int, reason: String) -> ProxyError {
        ProxyError(.badJSON(offset: offset, reason: reason))
    }
    /// `miss = reject`: the reasoning of an assistant tool-call message is not cached.
    /// `thinkingBlocks`: on an Anthropic route, where reasoning is the thinking blocks.
    public static func reasoningMissing(messageIndex: Int, thinkingBlocks: Bool = false) -> ProxyError {
        ProxyError(.reasoningMissing(messageIndex: messageIndex, thinkingBlocks: thinkingBlocks))
    }
    public static func unreachable(_ detail: String) -> ProxyError { ProxyError(.unreachable(detail: detail)) }
    public static func timeout(_ detail: String) -> ProxyError { ProxyError(.timeout(detail: detail)) }
    /// A whole answer larger than `--max-response-bytes`: not collected, not relayed.
    public static func responseTooLarge() -> ProxyError { ProxyError(.responseTooLarge) }
    /// The provider's stream broke after its first bytes reached the client: logged, never
    /// answered (the head is out), never retried.
    public static func streamBroken(_ detail: String) -> ProxyError { ProxyError(.streamBroken(detail: detail)) }
    public static func draining() -> ProxyError { ProxyError(.draining) }
    /// An allocation failed before anything reached the client: this request cannot go on,
    /// the next may.
    public static func outOfMemory(_ what: String) -> ProxyError { ProxyError(.outOfMemory(what: what)) }
    /// `--proxy-keys on` and no valid key presented.
    public static func unauthorized() -> ProxyError { ProxyError(.unauthorized) }
    /// `--proxy-key-concurrency`: the key has that many requests in flight.
    public static func proxyKeyBusy(limit: Int) -> ProxyError { ProxyError(.proxyKeyBusy(limit: limit)) }
    public static func forbidden(_ reason: String) -> ProxyError { ProxyError(.forbidden(reason: reason)) }
    /// The store could not do what was asked (`/admin/cache/clear`).
    public static func storeFailed() -> ProxyError { ProxyError(.storeFailed) }

    public var origin: Origin {
        switch kind {
        case .notFound, .methodNotAllowed, .badRequest, .tooLarge, .badJSON, .reasoningMissing, .unauthorized, .forbidden, .proxyKeyBusy,
             .forbidden: .client
        case .storeFailed: .internal
        case .unreachable, .timeout, .responseTooLarge, .streamBroken: .upstream
        case .draining, .outOfMemory: .internal
        }
    }

    /// Whether the request may be sent again: nothing of an answer reached the client (a
    /// broken stream's did) and a retry can go otherwise (the request's own faults and an
    /// answer past the bound would not).
    public var isRetryable: Bool {
        switch kind {
        case .unreachable, .timeout, .draining, .outOfMemory, .proxyKeyBusy, .storeFailed: true
        case .notFound, .methodNotAllowed, .badRequest, .tooLarge, .badJSON, .reasoningMissing, .unauthorized,
             .forbidden, .responseTooLarge, .streamBroken: false
        }
    }

    public var status: Int {
        switch kind {
        case .notFound: 404
        case .methodNotAllowed: 405
        case .badRequest, .badJSON: 400
        case .tooLarge: 413
        case .reasoningMissing: 409
        case .unauthorized: 401
        case .proxyKeyBusy: 429
        case .forbidden: 403
        case .storeFailed: 503
        case .unreachable, .responseTooLarge, .streamBroken: 502
        case .timeout: 504
        case .draining, .outOfMemory: 503
        }
    }

    /// The body's `type`.
    public var type: String {
        switch origin {
        case .client: "invalid_request_error"
        case .upstream: "upstream_error"
        case .internal: "server_error"
        }
    }

    /// The body's `code`.
    public var code: String {
        switch kind {
        case .notFound: "not_found"
        case .methodNotAllowed: "method_not_allowed"
        case .badRequest: "bad_request"
        case .tooLarge: "request_too_large"
        case .badJSON: "invalid_json"
        case .reasoningMissing: "reasoning_missing"
        case .unauthorized: "invalid_proxy_key"
        case .proxyKeyBusy: "proxy_key_busy"
        case .forbidden: "forbidden"
        case .storeFailed: "store_failed"
        case .unreachable: "upstream_unreachable"
        case .timeout: "upstream_timeout"
        case .responseTooLarge: "upstream_response_too_large"
        case .streamBroken: "upstream_stream_broken"
        case .draining: "draining"
        case .outOfMemory: "out_of_memory"
        }
    }

    /// The body's `message`.
    public var message: String {
        switch kind {
        case .notFound(let path):
            "thinkback: unknown route \(path)"
        case .methodNotAllowed(let method, let path):
            "thinkback: \(method) is not allowed on \(path)"
        case .badRequest(let reason):
            "thinkback: malformed request: \(reason)"
        case .tooLarge(let limit):
            "thinkback: request body larger than \(limit) bytes"
        case .badJSON(let offset, let reason):
            "thinkback: request body is not valid JSON at byte \(offset): \(reason)"
        case .reasoningMissing(let index, false):
            "thinkback: the reasoning_content of messages[\(index)] (an assistant tool call) is not cached and the miss strategy is reject; resend it with its reasoning_content or start a new conversation"
        case .reasoningMissing(let index, true):
            "thinkback: the thinking blocks of messages[\(index)] (an assistant turn with tool_use) are not cached and the miss strategy is reject; resend them or start a new conversation"
        case .unreachable(let detail):
            "thinkback: provider unreachable: \(detail)"
        case .timeout(let detail):
            "thinkback: provider timed out: \(detail)"
        case .responseTooLarge:
            "thinkback: the provider's answer is larger than --max-response-bytes"
        case .streamBroken(let detail):
            "thinkback: the provider's stream broke: \(detail)"
        case .draining:
            "thinkback: shutting down, retry on another instance"
        case .unauthorized:
            "thinkback: this proxy wants one of its keys (Authorization: Bearer, x-api-key or api-key)"
        case .forbidden(let reason):
            "thinkback: \(reason)"
        case .storeFailed:
            "thinkback: the store could not do it now (see the log), retry later"
        case .proxyKeyBusy(let limit):
            "thinkback: this key has \(limit) requests in flight, its limit; retry after the one in Retry-After"
        case .outOfMemory(let what):
            "thinkback: out of memory (\(what)), retry later"
        }
    }

    public var description: String { message }

    /// The response header on thinkback's own errors (a provider's errors pass without it).
    public static let headerName = "thinkback-error"

    /// `origin=upstream retryable=true`
    public var headerValue: String {
        "origin=\(origin.rawValue) retryable=\(isRetryable)"
    }

    /// The body in the shape of the route's API: OpenAI's, or Anthropic's on Anthropic routes
    /// (product.md §6).
    public func body(for api: Route.API) -> [UInt8] {
        api == .anthropic ? anthropicBody : openAIBody
    }

    /// Anthropic's error type for this status.
    public var anthropicType: String {
        switch status {
        case 401: "authentication_error"
        case 403: "permission_error"
        case 404: "not_found_error"
        case 413: "request_too_large"
        case 429: "rate_limit_error"
        case 503: "overloaded_error"
        case 504: "timeout_error"
        case 500...: "api_error"
        default: "invalid_request_error"
        }
    }

    /// `{"type":"error","error":{"type":…,"message":…}}`
    public var anthropicBody: [UInt8] {
        let message = message
        var out: [UInt8] = []
        out.reserveCapacity(64 + message.utf8.count)
        out.append(contentsOf: #"{"type":"error","error":{"type":"#.utf8)
        JSONText.appendString(anthropicType, to: &out)
        out.append(contentsOf: #","message":"#.utf8)
        JSONText.appendString(message, to: &out)
        out.append(contentsOf: "}}".utf8)
        return out
    }

    /// `{"error":{"message":…,"type":…,"code":…}}`
    public var openAIBody: [UInt8] {
        let message = message
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

    /// `s` as a JSON string literal.
    public static func string(_ s: String) -> String {
        var out: [UInt8] = []
        appendString(s, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

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
