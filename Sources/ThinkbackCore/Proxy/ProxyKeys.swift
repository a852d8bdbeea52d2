/// Keys thinkback issues to the clients of a shared deployment (issue 20; product.md §4): a
/// client authenticates with its proxy key, thinkback calls the provider with the key it holds.
///
/// Stored hashed: `<state-dir>/proxy-keys` holds one line per key, `NAME SHA256-HEX`, so the file
/// never contains a usable key. A presented key is hashed and compared with every stored hash in
/// constant time (no early exit on the first differing byte or the first match).
public struct ProxyKeySet: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var name: String
        public var digest: [UInt8]

        public init(name: String, digest: [UInt8]) {
            self.name = name
            self.digest = digest
        }
    }

    public private(set) var entries: [Entry]

    public init(entries: [Entry] = []) {
        self.entries = entries
    }

    /// A name: 1–64 of `A-Z a-z 0-9 . _ -`.
    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 64 && name.utf8.allSatisfy {
            ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A)
                || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
        }
    }

    /// Reads the file's text; throws on a malformed line (never quoting a digest).
    public init(parsing text: String) throws(ProxyKeyError) {
        var entries: [Entry] = []
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            let fields = line.split(separator: " ")
            guard fields.count == 2, Self.isValidName(String(fields[0])), let digest = Hex.decode(fields[1]), digest.count == 32 else {
                throw ProxyKeyError("line \(n + 1) is not `NAME SHA256-HEX`")
            }
            entries.append(Entry(name: String(fields[0]), digest: digest))
        }
        self.entries = entries
    }

    /// The file's text.
    public var text: String {
        entries.map { e in e.name + " " + e.digest.withUnsafeBytes { Hex.encode($0) } + "\n" }.joined()
    }

    /// Adds a key under `name` (a new name) from its text; returns the set.
    public mutating func add(name: String, key: String) throws(ProxyKeyError) {
        guard Self.isValidName(name) else { throw ProxyKeyError("a key name is 1-64 of A-Z a-z 0-9 . _ -") }
        guard !entries.contains(where: { $0.name == name }) else { throw ProxyKeyError("a key named \(name) exists") }
        entries.append(Entry(name: name, digest: Self.digest(key)))
    }

    /// Removes the key named `name`; false if there is none.
    public mutating func remove(name: String) -> Bool {
        let before = entries.count
        entries.removeAll { $0.name == name }
        return entries.count != before
    }

    static func digest(_ key: String) -> [UInt8] {
        Array(SHA256.hash(Array(key.utf8)).bytes)
    }

    /// The name of the key `presented` is, or nil. Every stored digest is compared, each in
    /// full, whatever matches.
    public func name(of presented: some StringProtocol) -> String? {
        let d = Self.digest(String(presented))
        var found: Int?
        for (i, entry) in entries.enumerated() where ConstantTime.equal(entry.digest, d) && found == nil {
            found = i
        }
        return found.map { entries[$0].name }
    }

    /// A new key: `tbk_` and 64 hex digits (256 bits from `generator`).
    public static func newKey(using generator: inout some RandomNumberGenerator) -> String {
        let bytes = (0 ..< 32).map { _ in UInt8.random(in: 0 ... 255, using: &generator) }
        return "tbk_" + bytes.withUnsafeBytes { Hex.encode($0) }
    }
}

public struct ProxyKeyError: Error, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
