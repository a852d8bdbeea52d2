/// A 32-byte SHA-256 (or HMAC-SHA256) result, held inline: no allocation, cheap to compare.
public struct SHA256Digest: Hashable, Sendable, CustomStringConvertible {
    /// The number of bytes in a digest.
    public static let byteCount = 32

    // In memory, in digest byte order, so `withUnsafeBytes` yields the digest as published.
    private var storage: (UInt64, UInt64, UInt64, UInt64)

    init(storage: (UInt64, UInt64, UInt64, UInt64)) {
        self.storage = storage
    }

    /// The digest spelt by exactly 32 bytes, or nil for any other length.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == Self.byteCount else { return nil }
        storage = (0, 0, 0, 0)
        withUnsafeMutableBytes(of: &storage) { raw in
            for (i, byte) in bytes.enumerated() { raw[i] = byte }
        }
    }

    /// The 32 digest bytes.
    public var bytes: [UInt8] {
        withUnsafeBytes { Array($0) }
    }

    /// The first 8 digest bytes as a native integer: enough entropy for hash tables.
    var prefix64: UInt64 { storage.0 }

    /// Lower-case hex, 64 characters.
    public var hex: String {
        withUnsafeBytes { Hex.encode($0) }
    }

    public var description: String { hex }

    /// Calls `body` with the 32 digest bytes.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try Swift.withUnsafeBytes(of: storage, body)
    }

    public static func == (lhs: SHA256Digest, rhs: SHA256Digest) -> Bool {
        lhs.storage.0 == rhs.storage.0 && lhs.storage.1 == rhs.storage.1
            && lhs.storage.2 == rhs.storage.2 && lhs.storage.3 == rhs.storage.3
    }

    public func hash(into hasher: inout Hasher) {
        // A digest is uniformly distributed: 8 of its bytes are as good as all 32.
        hasher.combine(storage.0)
    }
}
