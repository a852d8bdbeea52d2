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
        // Byte comparisons: this runs once per request.
        var target = target
        let route: Route? = target.withUTF8 { t in
            let end = t.firstIndex(of: UInt8(ascii: "?")) ?? t.count
            let path = UnsafeBufferPointer(rebasing: t[0 ..< end])
            for (spelling, route) in table where path.elementsEqual(spelling) { return route }
            return nil
        }
        guard let route else { return .notFound }
        let wanted = route == .chatCompletions ? "POST" : "GET"
        if method == wanted || (wanted == "GET" && method == "HEAD") { return route }
        return .methodNotAllowed
    }

    private static let spellings: [(String, Route)] = [
        ("/v1/chat/completions", Route.chatCompletions), ("/chat/completions", Route.chatCompletions),
        ("/v1/models", Route.models), ("/models", Route.models),
        ("/health", Route.health), ("/ready", Route.ready), ("/", Route.status),
    ]
    private static let table: [([UInt8], Route)] = spellings.map { (Array($0.0.utf8), $0.1) }

    /// The query part of a target including its `?`, or "".
    public static func query(of target: String) -> Substring {
        guard let q = target.utf8.firstIndex(of: UInt8(ascii: "?")) else { return "" }
        return target[q...]
    }
}
