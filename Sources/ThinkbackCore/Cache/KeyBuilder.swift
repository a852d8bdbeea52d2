/// Makes the cache keys of one tenant (product.md §1): one per tool-call id, one per message
/// content.
public struct KeyBuilder: Sendable {
    /// The partition every key of this builder belongs to.
    public let tenant: TenantID

    /// A builder for `tenant`'s keys.
    public init(tenant: TenantID) {
        self.tenant = tenant
    }

    /// The key of a tool-call id alone (the kind earlier versions stored), or nil if the id
    /// normalises to nothing (it would collide with every other such id).
    public func toolCallKey(id: some Collection<UInt8>) -> CacheKey? {
        let digest = id.withContiguousStorageIfAvailable { Self.normalizedToolCallIDDigest(UnsafeRawBufferPointer($0)) }
            ?? Array(id).withUnsafeBytes { Self.normalizedToolCallIDDigest($0) }
        guard let digest else { return nil }
        return CacheKey(tenant: tenant, kind: .toolCall, digest: digest)
    }

    /// SHA-256 of `normalizedToolCallID(id)`; nil if it is empty.
    static func normalizedToolCallIDDigest(_ id: UnsafeRawBufferPointer) -> SHA256Digest? {
        var sha = SHA256()
        return hashNormalizedToolCallID(id, into: &sha) == 0 ? nil : sha.finalize()
    }

    /// Feeds `normalizedToolCallID(id)` into `sha` run by run, without building the
    /// normalised copy; returns how many bytes it kept.
    static func hashNormalizedToolCallID(_ id: UnsafeRawBufferPointer, into sha: inout SHA256) -> Int {
        var kept = 0
        var runStart = 0
        for i in 0 ..< id.count where !isASCIIAlphanumeric(id[i]) {
            if runStart < i {
                sha.update(UnsafeRawBufferPointer(rebasing: id[runStart ..< i]))
                kept += i - runStart
            }
            runStart = i + 1
        }
        if runStart < id.count {
            sha.update(UnsafeRawBufferPointer(rebasing: id[runStart...]))
            kept += id.count - runStart
        }
        return kept
    }

    /// The key of a message's place in its conversation: `history` is the digest of the
    /// messages before it, `content` the digest of its content key (`ContentKeyHasher`).
    /// Every message has one, even one with nothing to content-key.
    public func contextKey(history: SHA256Digest, content: SHA256Digest) -> CacheKey {
        var sha = SHA256()
        history.withUnsafeBytes { sha.update($0) }
        content.withUnsafeBytes { sha.update($0) }
        return CacheKey(tenant: tenant, kind: .context, digest: sha.finalize())
    }

    /// The key of a tool-call id together with its message's content digest, or nil if the
    /// id normalises to nothing.
    public func toolCallKey(id: [UInt8], content: SHA256Digest) -> CacheKey? {
        // The fixed-length digest first, the id after it: unambiguous without a length.
        var sha = SHA256()
        content.withUnsafeBytes { sha.update($0) }
        let kept = id.withUnsafeBytes { Self.hashNormalizedToolCallID($0, into: &sha) }
        return kept == 0 ? nil : CacheKey(tenant: tenant, kind: .toolCallContent, digest: sha.finalize())
    }

    /// The content key of a finished content digest (see `contentKey(_:)`).
    public func contentKey(digest: SHA256Digest) -> CacheKey {
        CacheKey(tenant: tenant, kind: .content, digest: digest)
    }

    /// The content key finished from `hasher`, or nil if the message has nothing to key
    /// (empty content and no tool calls).
    public func contentKey(_ hasher: ContentKeyHasher) -> CacheKey? {
        guard hasher.isKeyable else { return nil }
        return CacheKey(tenant: tenant, kind: .content, digest: hasher.finalize())
    }

    /// The content key of a message: its normalised content, then each tool call's name and
    /// canonical arguments in order; nil for empty content with no tool calls.
    public func contentKey(
        content: some Collection<UInt8>,
        toolCalls: [(name: [UInt8], arguments: [UInt8])]
    ) -> CacheKey? {
        var hasher = ContentKeyHasher(content: content)
        for call in toolCalls {
            hasher.addToolCall(name: call.name, arguments: call.arguments)
        }
        return contentKey(hasher)
    }

    /// `id` with everything but ASCII letters and digits removed.
    ///
    /// Some clients rewrite ids (e.g. drop the `_` of `call_…`), so ids are compared without
    /// punctuation (product.md §1). Bytes of non-ASCII characters (every byte >= 0x80) are
    /// dropped too: providers issue ASCII ids, and a Unicode notion of "alphanumeric" would
    /// depend on a Unicode version. The cost: ids differing only in non-ASCII characters share
    /// a key. Case is kept: ids are case-sensitive tokens.
    public static func normalizedToolCallID(_ id: UnsafeRawBufferPointer) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(id.count)
        for byte in id where isASCIIAlphanumeric(byte) {
            out.append(byte)
        }
        return out
    }

    /// `id` with everything but ASCII letters and digits removed (see the raw-buffer variant).
    public static func normalizedToolCallID(_ id: some Collection<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(id.count)
        for byte in id where isASCIIAlphanumeric(byte) {
            out.append(byte)
        }
        return out
    }

    @inline(__always)
    private static func isASCIIAlphanumeric(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "a")...UInt8(ascii: "z"):
            return true
        default:
            return false
        }
    }
}
