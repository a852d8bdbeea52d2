/// One HTTP request as the simulator sees it.
public struct SimRequest: Sendable {
    /// `GET`, `POST`, …
    public var method: String
    /// The path, without the query string.
    public var path: String
    /// The query string without `?`, if any.
    public var query: String?
    /// Headers in arrival order; names compare case-insensitively.
    public var headers: [(name: String, value: String)]
    /// The raw body.
    public var body: [UInt8]

    /// A request; `query`, `headers` and `body` default to empty.
    public init(
        method: String, path: String, query: String? = nil,
        headers: [(name: String, value: String)] = [], body: [UInt8] = []
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
    }

    /// The value of the first header named `name` (case-insensitive).
    public func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.first(where: { $0.name.lowercased() == wanted })?.value
    }

    /// The value of query parameter `name`, if present.
    public func queryItem(_ name: String) -> String? {
        guard let query else { return nil }
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if parts.first.map(String.init) == name { return parts.count > 1 ? String(parts[1]) : "" }
        }
        return nil
    }
}
