/// Folds a conversation's messages, in order, into one digest: what a message's context key
/// (`KeyBuilder.contextKey`) says about its place (product.md §1: a key names one message).
///
/// It covers what a client sends back the same way every time and leaves out what clients
/// change: per message its role and its content as the client spelt it (the value's bytes:
/// a client writes its own messages the same way on every request), and for an assistant
/// message — which the client rebuilt from the provider's answer — its content key's digest
/// (normalised content, tool names, canonical arguments). Never reasoning (clients drop it,
/// thinkback restores it), tool-call ids or `tool_call_id` (clients renumber them), or a
/// message's other members, their order or the spacing between them.
///
/// So two identical calls made in two rounds of one conversation have different digests
/// before them (the earlier one's history is a strict prefix of the later one's), and a
/// capture's history — the request that produced the answer — is the history the answer
/// has when the client sends it back.
///
/// Every field is written with its length: the encoding is unambiguous. The bytes go through
/// `HistoryHash` (fast; the context key hashes its result again with SHA-256).
public struct HistoryHasher: Sendable {
    private var sha = HistoryHash()
    /// Messages folded in so far.
    public private(set) var messageCount = 0

    /// An empty history.
    public init() {}

    /// Adds a message other than an assistant one: its role and its content's bytes.
    public mutating func addMessage(role: some Collection<UInt8>, content: UnsafeRawBufferPointer) {
        sha.update(CollectionOfOne(UInt8(1)))
        appendLength(role.count)
        sha.update(role)
        appendLength(content.count)
        sha.update(content)
        messageCount += 1
    }

    /// Adds an assistant message by its content key's digest.
    public mutating func addAssistant(content: SHA256Digest) {
        sha.update(CollectionOfOne(UInt8(2)))
        content.withUnsafeBytes { sha.update($0) }
        messageCount += 1
    }

    /// The digest of the messages added so far (the hasher can go on).
    public func digest() -> SHA256Digest {
        sha.finalize()
    }

    private mutating func appendLength(_ count: Int) {
        withUnsafeBytes(of: UInt64(count).bigEndian) { sha.update($0) }
    }
}
