/// The routes thinkback serves (docs/product.md §7).
public enum Route: Equatable, Sendable {
    case chatCompletions
    case models
    case health
    case ready
    case status
    case notFound
    case methodNotAllowed

    /// The path appended to the upstream's base URL, for proxied routes.
    public var upstreamPath: String? {
        switch self {
        case .chatCompletions: return "/chat/completions"
        case .models: return "/models"
        default: return nil
        }
    }

    public var name: String {
        switch self {
        case .chatCompletions: return "chat"
        case .models: return "models"
        case .health: return "health"
        case .ready: return "ready"
        case .status: return "status"
        case .notFound: return "not-found"
        case .methodNotAllowed: return "method-not-allowed"
        }
    }

    /// Matches a request target (path with an optional query) and method.
    public static func match(method: String, target: String) -> Route {
        let path = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        let route: Route
        let wanted: String
        switch path {
        case "/v1/chat/completions", "/chat/completions": route = .chatCompletions; wanted = "POST"
        case "/v1/models", "/models": route = .models; wanted = "GET"
        case "/health": route = .health; wanted = "GET"
        case "/ready": route = .ready; wanted = "GET"
        case "/": route = .status; wanted = "GET"
        default: return .notFound
        }
        if method == wanted || (wanted == "GET" && method == "HEAD") { return route }
        return .methodNotAllowed
    }

    /// The query part of a target including its `?`, or "".
    public static func query(of target: String) -> Substring {
        guard let q = target.utf8.firstIndex(of: UInt8(ascii: "?")) else { return "" }
        return target[q...]
    }
}
