/// What goes upstream when a tool-call message's reasoning cannot be restored
/// (docs/product.md §3).
public enum MissStrategy: String, Sendable, CaseIterable {
    /// `placeholder` first; on the provider's "must be passed back" 400, retry once with
    /// `textualize` and remember that this upstream and model refuse placeholders.
    case auto
    /// A fixed placeholder text, tool structure kept (deterministic: prefix caches still hit).
    case placeholder
    /// Tool calls and their results rewritten as plain text.
    case textualize
    /// Tool calls and their orphaned `tool` messages removed.
    case strip
    /// Forwarded unchanged.
    case passthrough
    /// Answered 409 naming the message index.
    case reject
}

/// Recognises the provider's "reasoning must be passed back" refusal in every documented form
/// (docs/provider-protocol.md): MiMo's text in `param`, DeepSeek's and Kimi's wordings, with or
/// without backticks, plain JSON or framed as SSE. It looks at the wording, never at the shape.
public enum RefusalRecognizer {
    private static let phrases: [[UInt8]] = [
        "must be passed back",
        "reasoning_content is missing",
        "missing reasoning_content",
        "missing `reasoning_content`",
    ].map { Array($0.utf8) }
    private static let subjects: [[UInt8]] = ["reasoning_content", "thinking"].map { Array($0.utf8) }

    /// Refusals of reasoning that was sent back but not as the provider issued it (Anthropic's
    /// thinking blocks: a signature that does not verify, a block changed): looked for when a
    /// request carried restored reasoning.
    public static let restoredReasoningRefusals = [
        "Invalid signature in thinking block",
        "thinking blocks in the latest assistant message cannot be modified",
    ]

    /// True when `body` (a 400's body) is the thinking-mode refusal: a wording every provider's
    /// shares, or one of `wordings` (an upstream's own, compared the same way).
    public static func isRefusal(status: Int, body: UnsafeRawBufferPointer, wordings: [String] = []) -> Bool {
        guard status == 400, body.count < 64 * 1024 else { return false }
        // Lowercase and drop backticks: providers vary both.
        var text: [UInt8] = []
        text.reserveCapacity(body.count)
        for b in body where b != UInt8(ascii: "`") {
            text.append(b >= 65 && b <= 90 ? b + 32 : b)
        }
        for wording in wordings {
            let w = Array(wording.utf8).filter { $0 != UInt8(ascii: "`") }.map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }
            if !w.isEmpty && contains(text, w) { return true }
        }
        let normalizedPhrases = phrases.map { $0.filter { $0 != UInt8(ascii: "`") } }
        guard normalizedPhrases.contains(where: { contains(text, $0) }) else { return false }
        return subjects.contains { contains(text, $0) }
    }

    public static func isRefusal(status: Int, body: [UInt8], wordings: [String] = []) -> Bool {
        body.withUnsafeBytes { isRefusal(status: status, body: $0, wordings: wordings) }
    }

    private static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard needle.count <= haystack.count, let first = needle.first else { return needle.isEmpty }
        var i = 0
        let last = haystack.count - needle.count
        while i <= last {
            if haystack[i] == first {
                var j = 1
                while j < needle.count && haystack[i + j] == needle[j] { j += 1 }
                if j == needle.count { return true }
            }
            i += 1
        }
        return false
    }
}

/// `auto`'s memory that an upstream and model refuse placeholders (docs/product.md §3): kept
/// per upstream and model, and forgotten after `lifetimeMs`, since enforcement drifts.
public struct PlaceholderRefusalMemory: Sendable {
    private var until: [String: UInt64] = [:]
    public let lifetimeMs: UInt64

    public init(lifetimeMs: UInt64 = 3_600_000) {
        self.lifetimeMs = lifetimeMs
    }

    private static func key(_ upstream: String, _ model: String) -> String { upstream + "\u{0}" + model }

    public mutating func remember(upstream: String, model: String, nowMs: UInt64) {
        until[Self.key(upstream, model)] = nowMs + lifetimeMs
        if until.count > 10_000 { until = until.filter { $0.value > nowMs } }
    }

    public func refusesPlaceholders(upstream: String, model: String, nowMs: UInt64) -> Bool {
        guard let t = until[Self.key(upstream, model)] else { return false }
        return nowMs < t
    }
}
