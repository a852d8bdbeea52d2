/// HMAC-SHA256 (RFC 2104), incremental.
///
/// The keyed state is a plain value: key once, then copy it for every message, which costs
/// no key schedule (`TenantHasher` does this for each request's credential).
public struct HMACSHA256: Sendable {
    private var inner = SHA256()
    // Already fed the outer pad; receives the inner digest in `finalize()`.
    private var outer = SHA256()

    /// A MAC keyed with `key` (any length; keys longer than a block are hashed first).
    public init(key: UnsafeRawBufferPointer) {
        if key.count > SHA256.blockByteCount {
            self = SHA256.hash(key).withUnsafeBytes { HMACSHA256(blockSizedKey: $0) }
        } else {
            self = HMACSHA256(blockSizedKey: key)
        }
    }

    /// A MAC keyed with `key` (any length; keys longer than a block are hashed first).
    @inlinable
    public init<Key: Sequence>(key: Key) where Key.Element == UInt8 {
        self = Array(key).withUnsafeBytes { HMACSHA256(key: $0) }
    }

    private init(blockSizedKey key: UnsafeRawBufferPointer) {
        var innerPad: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) =
            (0, 0, 0, 0, 0, 0, 0, 0)
        var outerPad = innerPad
        withUnsafeMutableBytes(of: &innerPad) { ipad in
            withUnsafeMutableBytes(of: &outerPad) { opad in
                for i in 0..<SHA256.blockByteCount {
                    let byte = i < key.count ? key[i] : 0
                    ipad[i] = byte ^ 0x36
                    opad[i] = byte ^ 0x5c
                }
                inner.update(UnsafeRawBufferPointer(ipad))
                outer.update(UnsafeRawBufferPointer(opad))
            }
        }
    }

    /// Adds `bytes` to the message.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        inner.update(bytes)
    }

    /// Adds `bytes` to the message.
    @inlinable
    public mutating func update<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        let done: Void? = bytes.withContiguousStorageIfAvailable { buffer in
            update(UnsafeRawBufferPointer(buffer))
        }
        if done == nil {
            Array(bytes).withUnsafeBytes { update($0) }
        }
    }

    /// The MAC of everything added so far. The state itself is unchanged.
    public func finalize() -> SHA256Digest {
        var outer = self.outer
        inner.finalize().withUnsafeBytes { outer.update($0) }
        return outer.finalize()
    }

    /// The MAC of `message` under `key`.
    @inlinable
    public static func authenticationCode<Message: Sequence, Key: Sequence>(
        for message: Message, key: Key
    ) -> SHA256Digest where Message.Element == UInt8, Key.Element == UInt8 {
        var mac = HMACSHA256(key: key)
        mac.update(message)
        return mac.finalize()
    }
}
