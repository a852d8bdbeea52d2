/// Whose cache partition an entry lives in (product.md §4): 16 bytes, derived from the
/// client's credential with a keyed hash, so the credential itself is never stored or logged.
public struct TenantID: Hashable, Sendable, CustomStringConvertible {
    /// The number of bytes in a tenant id.
    public static let byteCount = 16

    // In memory, in byte order, so `withUnsafeBytes` yields the published bytes.
    private var storage: (UInt64, UInt64)

    /// The one tenant of a single-user setup (all zero bytes): everyone shares one partition.
    public static let single = TenantID(storage: (0, 0))

    private init(storage: (UInt64, UInt64)) {
        self.storage = storage
    }

    /// The tenant made of the first 16 bytes of `digest`.
    init(truncating digest: SHA256Digest) {
        storage = (0, 0)
        digest.withUnsafeBytes { source in
            withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[0..<16])) }
        }
    }

    /// The tenant of `credential` under `secret` (see `TenantHasher`, which keys once for many).
    public init(secret: some Sequence<UInt8>, credential: some Sequence<UInt8>) {
        self = TenantHasher(secret: secret).tenant(forCredential: credential)
    }

    /// The tenant spelt by exactly 16 bytes (as from `bytes`), or nil for any other length.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == Self.byteCount else { return nil }
        storage = (0, 0)
        withUnsafeMutableBytes(of: &storage) { raw in
            for (i, byte) in bytes.enumerated() { raw[i] = byte }
        }
    }

    /// The 16 bytes of the id.
    public var bytes: [UInt8] {
        withUnsafeBytes { Array($0) }
    }

    /// Lower-case hex, 32 characters: safe to log (it reveals nothing about the credential).
    public var description: String {
        withUnsafeBytes { Hex.encode($0) }
    }

    /// The first 8 bytes as a native integer, for cheap hashing.
    var prefix64: UInt64 { storage.0 }

    /// Calls `body` with the 16 bytes of the id.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try Swift.withUnsafeBytes(of: storage, body)
    }

    public static func == (lhs: TenantID, rhs: TenantID) -> Bool {
        lhs.storage.0 == rhs.storage.0 && lhs.storage.1 == rhs.storage.1
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(storage.0)
    }
}

/// Derives `TenantID`s from credentials: the first 16 bytes of HMAC-SHA256(secret, credential).
///
/// The secret stays with the deployment (a shared store needs the same secret on every
/// instance), so a leaked store does not let anyone test guesses of a credential.
public struct TenantHasher: Sendable {
    private let keyed: HMACSHA256

    /// A hasher keyed with `secret`.
    public init(secret: some Sequence<UInt8>) {
        keyed = HMACSHA256(key: secret)
    }

    /// The tenant of `credential`: the bytes the client authenticated with, as it sent them
    /// (the bearer token without the `Bearer ` scheme, or the `api-key` header value).
    public func tenant(forCredential credential: UnsafeRawBufferPointer) -> TenantID {
        var mac = keyed
        mac.update(credential)
        return TenantID(truncating: mac.finalize())
    }

    /// The tenant of `credential` (see `tenant(forCredential:)` for which bytes to pass).
    public func tenant(forCredential credential: some Sequence<UInt8>) -> TenantID {
        var mac = keyed
        mac.update(credential)
        return TenantID(truncating: mac.finalize())
    }
}
