/// The thinking of one assistant message as stored (`ReasoningFormat.anthropicThinking`): who
/// issued it, and each `thinking` / `redacted_thinking` block's bytes exactly as the provider
/// wrote them, with its place among the message's other blocks (issue 19: position, order and
/// bytes must be the provider's own).
///
/// Encoding: the issuer's length (1 byte) and UTF-8; then per block the number of non-thinking
/// blocks before it (UInt32 little-endian), its length (UInt32 little-endian) and its bytes.
public struct AnthropicThinking: Sendable, Equatable {
    public struct Block: Sendable, Equatable {
        /// How many of the message's other blocks (text, tool_use, …) come before this one.
        public var before: Int
        /// The block object, as the provider wrote it.
        public var bytes: [UInt8]

        public init(before: Int, bytes: [UInt8]) {
            self.before = before
            self.bytes = bytes
        }
    }

    /// The kind of upstream whose signatures these are (its Anthropic base URL): a signature
    /// goes back only to the upstream that issued it.
    public var issuer: String
    public var blocks: [Block]

    public init(issuer: String, blocks: [Block]) {
        self.issuer = issuer
        self.blocks = blocks
    }

    public var encoded: [UInt8] {
        var out: [UInt8] = []
        let name = Array(issuer.utf8.prefix(255))
        out.append(UInt8(name.count))
        out += name
        for block in blocks {
            Self.append(UInt32(clamping: block.before), to: &out)
            Self.append(UInt32(clamping: block.bytes.count), to: &out)
            out += block.bytes
        }
        return out
    }

    /// Decodes a stored value; nil if it is not well formed (a value from a newer version, or
    /// damaged). Each block must be one JSON object: it is spliced as it is. `validating`:
    /// false only where the value is known well formed (the restore path: the tiered store
    /// checks `StoredReasoning.isWellFormed` on whatever it reads from outside the process).
    public init?(decoding bytes: [UInt8], validating: Bool = true) {
        guard let n = bytes.first.map(Int.init), bytes.count >= 1 + n else { return nil }
        issuer = String(decoding: bytes[1 ..< 1 + n], as: UTF8.self)
        blocks = []
        var i = 1 + n
        while i < bytes.count {
            guard bytes.count - i >= 8 else { return nil }
            let before = Int(Self.read(bytes, at: i))
            let length = Int(Self.read(bytes, at: i + 4))
            i += 8
            guard bytes.count - i >= length else { return nil }
            let block = Array(bytes[i ..< i + length])
            if validating {
                let isObject = block.withUnsafeBytes { (try? JSONValidator.validate($0))?.kind == .object }
                guard isObject else { return nil }
            }
            blocks.append(Block(before: before, bytes: block))
            i += length
        }
    }

    private static func append(_ v: UInt32, to out: inout [UInt8]) {
        withUnsafeBytes(of: v.littleEndian) { out += $0 }
    }

    private static func read(_ bytes: [UInt8], at i: Int) -> UInt32 {
        UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24
    }
}
