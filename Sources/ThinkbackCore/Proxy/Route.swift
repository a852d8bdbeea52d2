/// The routes thinkback serves (docs/product.md §7).
public enum Route: Equatable, Sendable, CaseIterable {
    /// `POST /v1/chat/completions`, `/chat/completions`: restored and captured.
    case chatCompletions
    /// `POST /anthropic/v1/messages`, `/v1/messages`: the Anthropic-compatible API.
    case messages
    case models
    /// Any other path under `/v1/`: to the upstream's OpenAI-compatible base, unchanged.
    case passthrough
    /// Any other path under `/anthropic/v1/`, and `/v1/messages/…` (`count_tokens`): to the
    /// upstream's Anthropic-compatible base, unchanged.
    case anthropicPassthrough
    case health
    case ready
    case status
    /// `GET /metrics`: Prometheus text format.
    case metrics
    /// `POST /admin/cache/clear`: one's own tenant's captures (`?all=1` with the admin key: all).
    case adminCacheClear
    case notFound
    case methodNotAllowed
    /// A path a provider must not be sent: dot segments, bytes outside printable ASCII, `\`.
    case badPath

    /// Which of the upstream's bases a proxied route goes to.
    public enum API: Sendable { case openAI, anthropic }

    /// The API whose base a proxied route goes to, and whose error shape thinkback's own
    /// errors take on it; nil for the local routes.
    public var api: API? {
        switch self {
        case .chatCompletions, .models, .passthrough: .openAI
        case .messages, .anthropicPassthrough: .anthropic
        default: nil
        }
    }

    /// Whether thinkback only relays the route: no restoration, no capture, the answer passed
    /// on as it comes.
    public var isPassthrough: Bool { self == .passthrough || self == .anthropicPassthrough }

    /// The path appended to the upstream's base (the OpenAI-compatible one for `api ==
    /// .openAI`, else the Anthropic-compatible one), without the query; nil for local routes.
    /// A base is what a client would put in an SDK's `base_url`: `/v1` is in an OpenAI base
    /// (`https://api.xiaomimimo.com/v1`), not in an Anthropic one (`…/anthropic`).
    public func upstreamPath(target: String) -> String? {
        let path = target.prefix { $0 != "?" }
        switch self {
        case .chatCompletions: return "/chat/completions"
        case .models: return "/models"
        case .messages: return "/v1/messages"
        case .passthrough: return String(path.dropFirst(3))   // "/v1/embeddings" → "/embeddings"
        case .anthropicPassthrough:
            return path.hasPrefix("/anthropic/") ? String(path.dropFirst(10)) : String(path)
        default: return nil
        }
    }

    public var name: String {
        switch self {
        case .chatCompletions: return "chat"
        case .messages: return "messages"
        case .models: return "models"
        case .passthrough: return "passthrough"
        case .anthropicPassthrough: return "anthropic-passthrough"
        case .health: return "health"
        case .ready: return "ready"
        case .status: return "status"
        case .metrics: return "metrics"
        case .adminCacheClear: return "admin-cache-clear"
        case .notFound: return "not-found"
        case .methodNotAllowed: return "method-not-allowed"
        case .badPath: return "bad-path"
        }
    }

    /// Matches a request target (path with an optional query) and method.
    public static func match(method: String, target: String) -> Route {
        // Byte comparisons: this runs once per request.
        var target = target
        return target.withUTF8 { t in
            let end = t.firstIndex(of: UInt8(ascii: "?")) ?? t.count
            let path = UnsafeBufferPointer(rebasing: t[0 ..< end])
            let query = UnsafeBufferPointer(rebasing: t[end...])
            var route: Route?
            for (spelling, candidate) in table where path.elementsEqual(spelling) {
                let wanted = candidate == .chatCompletions || candidate == .messages || candidate == .adminCacheClear ? "POST" : "GET"
                guard method == wanted || (wanted == "GET" && method == "HEAD") else { return .methodNotAllowed }
                route = candidate
                break
            }
            if route == nil {
                if path.starts(with: anthropicPrefix) || path.starts(with: messagesPrefix) {
                    route = .anthropicPassthrough
                } else if path.starts(with: openAIPrefix) {
                    route = .passthrough
                } else {
                    return .notFound
                }
            }
            guard let route else { return .notFound }
            // What goes to the provider must be a URL that names what the client asked for.
            guard route.api == nil || (isSafe(path) && query.allSatisfy(isURLByte)) else { return .badPath }
            return route
        }
    }

    /// Whether thinkback's own errors on this target take Anthropic's shape.
    public static func isAnthropicPath(_ target: String) -> Bool {
        target.hasPrefix("/anthropic/") || target.hasPrefix("/v1/messages")
    }

    /// Printable ASCII but `\` and `#` (percent-escapes pass as they are).
    static func isURLByte(_ b: UInt8) -> Bool {
        b > 0x20 && b < 0x7F && b != UInt8(ascii: "\\") && b != UInt8(ascii: "#")
    }

    /// A path forwarded as it is must name the same thing at the provider: no `.` or `..`
    /// segment (curl would resolve it, and `/v1/../x` leaves the base), only `isURLByte`s.
    static func isSafe(_ path: UnsafeBufferPointer<UInt8>) -> Bool {
        var segmentStart = 0
        for i in 0 ... path.count {
            if i < path.count && !isURLByte(path[i]) { return false }
            guard i == path.count || path[i] == UInt8(ascii: "/") else { continue }
            let length = i - segmentStart
            if (length == 1 || length == 2) && path[segmentStart ..< i].allSatisfy({ $0 == UInt8(ascii: ".") }) {
                return false
            }
            segmentStart = i + 1
        }
        return true
    }

    private static let spellings: [(String, Route)] = [
        ("/v1/chat/completions", Route.chatCompletions), ("/chat/completions", Route.chatCompletions),
        ("/anthropic/v1/messages", Route.messages), ("/v1/messages", Route.messages),
        ("/v1/models", Route.models), ("/models", Route.models),
        ("/health", Route.health), ("/ready", Route.ready), ("/", Route.status), ("/metrics", Route.metrics),
        ("/admin/cache/clear", Route.adminCacheClear),
    ]
    private static let table: [([UInt8], Route)] = spellings.map { (Array($0.0.utf8), $0.1) }
    private static let openAIPrefix = Array("/v1/".utf8)
    private static let anthropicPrefix = Array("/anthropic/v1/".utf8)
    private static let messagesPrefix = Array("/v1/messages/".utf8)

    /// The query part of a target including its `?`, or "".
    public static func query(of target: String) -> Substring {
        guard let q = target.utf8.firstIndex(of: UInt8(ascii: "?")) else { return "" }
        return target[q...]
    }
}
