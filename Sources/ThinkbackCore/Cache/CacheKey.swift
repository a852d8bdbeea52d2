/// One key of the reasoning cache: a tenant, what the key was made from, and a SHA-256
/// digest of it. Keys never hold raw ids or content (product.md §4: stored keys are hashed).
///
/// `KeyBuilder` makes them; stores compare them with `==`, use them in hash tables, and
/// persist them as `bytes` or `hex`.
public struct CacheKey: Hashable, Sendable, CustomStringConvertible {
    /// What a key was derived from.
    public enum Kind: UInt8, Sendable {
        /// A normalised tool-call id alone. Made by earlier versions; no longer looked up,
        /// since providers reuse ids across turns (Kimi's `functions.NAME:0`).
        case toolCall = 1
        /// A message's content and its tool calls' names and canonical arguments: found
        /// again whatever ids a client gives the calls, but shared by identical messages.
        case content = 2
        /// A message's place in its conversation: the digest of every message before it
        /// (`HistoryHasher`) with its content key. Names exactly one message.
        case context = 3
        /// A normalised tool-call id with the content key of the message it belongs to: an
        /// id reused for another call is another key.
        case toolCallContent = 4
    }

    /// The length of `bytes`: tenant, kind, digest.
    public static let byteCount = TenantID.byteCount + 1 + SHA256Digest.byteCount

    /// The partition the key belongs to.
    public let tenant: TenantID
    /// What the digest was made from.
    public let kind: Kind
    /// SHA-256 of the normalised id or of the content encoding.
    public let digest: SHA256Digest

    /// A key from its parts; `KeyBuilder` computes the digest.
    public init(tenant: TenantID, kind: Kind, digest: SHA256Digest) {
        self.tenant = tenant
        self.kind = kind
        self.digest = digest
    }

    /// The key spelt by `bytes` (as produced by `bytes`), or nil if they are not such a spelling.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == Self.byteCount else { return nil }
        let array = Array(bytes)
        guard let tenant = TenantID(bytes: array[0..<TenantID.byteCount]),
              let kind = Kind(rawValue: array[TenantID.byteCount]),
              let digest = SHA256Digest(bytes: array[(TenantID.byteCount + 1)...])
        else { return nil }
        self.init(tenant: tenant, kind: kind, digest: digest)
    }

    /// The key spelt by `hex` (as produced by `hex`, either case), or nil.
    public init?(hex: some StringProtocol) {
        guard let bytes = Hex.decode(hex) else { return nil }
        self.init(bytes: bytes)
    }

    /// A stable encoding for external stores: 16 tenant bytes, 1 kind byte, 32 digest bytes.
    /// The tenant comes first so that one tenant's keys share a prefix.
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(Self.byteCount)
        tenant.withUnsafeBytes { out.append(contentsOf: $0) }
        out.append(kind.rawValue)
        digest.withUnsafeBytes { out.append(contentsOf: $0) }
        return out
    }

    /// `bytes` as lower-case hex (98 characters), e.g. for Redis keys or SQLite text columns.
    public var hex: String {
        bytes.withUnsafeBytes { Hex.encode($0) }
    }

    /// The hex form; safe to log, since it is made of hashes only.
    public var description: String { hex }

    public static func == (lhs: CacheKey, rhs: CacheKey) -> Bool {
        lhs.digest == rhs.digest && lhs.tenant == rhs.tenant && lhs.kind == rhs.kind
    }

    public func hash(into hasher: inout Hasher) {
        // The digest is uniformly distributed; mixing in the tenant keeps one id under many
        // tenants from sharing a bucket.
        hasher.combine(digest.prefix64 ^ tenant.prefix64 ^ UInt64(kind.rawValue))
    }
}
