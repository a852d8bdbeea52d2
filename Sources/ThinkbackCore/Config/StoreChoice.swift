/// Which store keeps the reasoning (`--store`, product.md §5).
public enum StoreChoice: Hashable, Sendable, CustomStringConvertible {
    /// In memory only: lost on restart.
    case memory
    /// An SQLite file, by default `<state-dir>/reasoning.sqlite3` (`nil`). The default store.
    case sqlite(path: String?)
    /// A Redis server shared by several thinkback processes.
    case redis(host: String, port: UInt16, database: Int)

    /// The file name of the default SQLite store inside the state directory.
    public static let defaultSQLiteFileName = "reasoning.sqlite3"

    /// `memory`, `sqlite`, `sqlite:PATH` or `redis://HOST:PORT[/DB]`; nil for anything else.
    public init?(parsing text: String) {
        if text == "memory" {
            self = .memory
        } else if text == "sqlite" {
            self = .sqlite(path: nil)
        } else if text.hasPrefix("sqlite:") {
            let path = String(text.dropFirst("sqlite:".count))
            guard !path.isEmpty else { return nil }
            self = .sqlite(path: path)
        } else if text.hasPrefix("redis://") {
            var rest = Substring(text.dropFirst("redis://".count))
            var database = 0
            if let slash = rest.firstIndex(of: "/") {
                let db = rest[rest.index(after: slash)...]
                if !db.isEmpty {
                    guard let n = Int(db), n >= 0 else { return nil }
                    database = n
                }
                rest = rest[..<slash]
            }
            var host = rest
            var port: UInt16 = 6379
            if let colon = rest.lastIndex(of: ":"), !rest.hasSuffix("]") {
                guard let p = UInt16(rest[rest.index(after: colon)...]), p > 0 else { return nil }
                port = p
                host = rest[..<colon]
            }
            if host.hasPrefix("[") && host.hasSuffix("]") { host = host.dropFirst().dropLast() }
            guard !host.isEmpty, !host.contains("@") else { return nil }
            self = .redis(host: String(host), port: port, database: database)
        } else {
            return nil
        }
    }

    /// The kind of store, for the status page: `memory`, `sqlite` or `redis`.
    public var name: String {
        switch self {
        case .memory: return "memory"
        case .sqlite: return "sqlite"
        case .redis: return "redis"
        }
    }

    /// The choice as written on the command line.
    public var description: String {
        switch self {
        case .memory: return "memory"
        case .sqlite(nil): return "sqlite"
        case .sqlite(let path?): return "sqlite:\(path)"
        case .redis(let host, let port, let db): return "redis://\(host.contains(":") ? "[\(host)]" : host):\(port)/\(db)"
        }
    }
}
