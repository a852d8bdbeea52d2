/// Hashes what a content key is made of (product.md §1), without the tool-call ids, so a
/// client that renumbers ids still finds its entry.
///
/// The encoding is unambiguous: every field is its length as 8 big-endian bytes followed by
/// its bytes — first the content, then for each tool call in order its name and its
/// canonical arguments. The caller passes content already normalised (the string, or the text
/// parts of an array, trimmed) and arguments already canonical; this type only hashes.
public struct ContentKeyHasher: Sendable {
    private var sha = SHA256()
    private var contentIsEmpty: Bool
    /// How many tool calls have been added.
    public private(set) var toolCallCount = 0

    /// Starts a key with the message's normalised content.
    public init(content: UnsafeRawBufferPointer) {
        contentIsEmpty = content.isEmpty
        appendField(content)
    }

    /// Starts a key with the message's normalised content.
    public init(content: some Collection<UInt8>) {
        contentIsEmpty = content.isEmpty
        appendField(content)
    }

    /// Adds the next tool call: its function name and its canonical arguments.
    public mutating func addToolCall(name: UnsafeRawBufferPointer, arguments: UnsafeRawBufferPointer) {
        appendField(name)
        appendField(arguments)
        toolCallCount += 1
    }

    /// Adds the next tool call: its function name and its canonical arguments.
    public mutating func addToolCall(name: some Collection<UInt8>, arguments: some Collection<UInt8>) {
        appendField(name)
        appendField(arguments)
        toolCallCount += 1
    }

    /// False for a message with empty content and no tool calls: every such message would
    /// share one key, so it must not be keyed at all.
    public var isKeyable: Bool { !contentIsEmpty || toolCallCount > 0 }

    /// The digest of the fields added so far.
    public func finalize() -> SHA256Digest {
        sha.finalize()
    }

    private mutating func appendField(_ field: UnsafeRawBufferPointer) {
        appendLength(field.count)
        sha.update(field)
    }

    private mutating func appendField(_ field: some Collection<UInt8>) {
        appendLength(field.count)
        sha.update(field)
    }

    private mutating func appendLength(_ count: Int) {
        withUnsafeBytes(of: UInt64(count).bigEndian) { sha.update($0) }
    }
}
