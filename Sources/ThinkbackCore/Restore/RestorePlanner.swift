/// Whether an assistant message in a request carries its reasoning.
public enum ReasoningPresence: Sendable, Equatable {
    case absent, null, empty, present

    /// Missing, `null` or empty: restore it (product.md §2). A non-empty value is never touched.
    public var needsRestore: Bool { self != .present }
}

/// What the restore core needs to know about one assistant message, whatever the wire format
/// (OpenAI `reasoning_content`, Anthropic thinking blocks): the format adapters fill it in.
public struct AssistantTurn: Sendable {
    public var messageIndex: Int
    public var reasoning: ReasoningPresence
    /// Decoded tool-call ids, in order (normalised when keys are built).
    public var toolCallIDs: [[UInt8]]
    /// The id-free content key (normalised content, tool names, canonical arguments).
    public var contentKey: ContentKeyHasher?

    public init(messageIndex: Int, reasoning: ReasoningPresence, toolCallIDs: [[UInt8]], contentKey: ContentKeyHasher?) {
        self.messageIndex = messageIndex
        self.reasoning = reasoning
        self.toolCallIDs = toolCallIDs
        self.contentKey = contentKey
    }

    public var hasToolCalls: Bool { !toolCallIDs.isEmpty }
}

/// How one request is to be restored (product.md §2–§3), per upstream and request.
public struct RestorePolicy: Sendable {
    public var scope: UpstreamPreset.RestoreScope
    public var strategy: MissStrategy
    public var placeholder: [UInt8]
    /// Thinking is on for this request (model default, overridden by `thinking.type`).
    public var thinking: Bool
    /// `auto` learned that this upstream and model refuse placeholders.
    public var placeholdersRefused: Bool

    public init(scope: UpstreamPreset.RestoreScope, strategy: MissStrategy, placeholder: [UInt8],
                thinking: Bool, placeholdersRefused: Bool = false) {
        self.scope = scope
        self.strategy = strategy
        self.placeholder = placeholder
        self.thinking = thinking
        self.placeholdersRefused = placeholdersRefused
    }

    /// The strategy a miss gets on this attempt (`auto` resolved).
    public var effectiveStrategy: MissStrategy {
        guard strategy == .auto else { return strategy }
        return placeholdersRefused ? .textualize : .placeholder
    }
}

/// What happens to one assistant message.
public enum TurnAction: Sendable, Equatable {
    case untouched
    /// Inject the recorded reasoning (found by tool-call id, or by content key).
    case restore(StoredReasoning, byToolCallID: Bool)
    case placeholder
    case textualize
    case strip
    case reject
}

/// The format-independent restore decisions: which keys to look up, and what each assistant
/// message becomes. No I/O: the runtime looks the keys up and the format adapter splices.
public enum RestorePlanner {
    /// Whether the turn is in scope for restoration at all.
    public static func wantsRestore(_ turn: AssistantTurn, policy: RestorePolicy) -> Bool {
        guard turn.reasoning.needsRestore else { return false }
        return turn.hasToolCalls || policy.scope == .all
    }

    /// The keys to look up, best first: every tool-call id, then the content key.
    public static func keys(for turn: AssistantTurn, builder: KeyBuilder) -> [CacheKey] {
        var keys = toolCallKeys(for: turn, builder: builder)
        if let hasher = turn.contentKey, let key = builder.contentKey(hasher) { keys.append(key) }
        return keys
    }

    /// The turn's tool-call id keys alone.
    public static func toolCallKeys(for turn: AssistantTurn, builder: KeyBuilder) -> [CacheKey] {
        turn.toolCallIDs.compactMap { id in id.withUnsafeBytes { builder.toolCallKey(id: $0) } }
    }

    /// Decides one turn from its lookup results (same order as `keys(for:)`).
    public static func decide(_ turn: AssistantTurn, keys: [CacheKey], found: [StoredReasoning?],
                              policy: RestorePolicy) -> TurnAction {
        guard wantsRestore(turn, policy: policy) else { return .untouched }
        for (key, value) in zip(keys, found) {
            if let value { return .restore(value, byToolCallID: key.kind == .toolCall) }
        }
        // A miss. Without thinking the provider does not care: leave the message alone.
        guard policy.thinking else { return .untouched }
        // With `restore = all`, a message without tool calls only ever gets the placeholder
        // (never a 400 of our own making).
        guard turn.hasToolCalls else { return .placeholder }
        switch policy.effectiveStrategy {
        case .auto, .placeholder: return .placeholder
        case .textualize: return .textualize
        case .strip: return .strip
        case .passthrough: return .untouched
        case .reject: return .reject
        }
    }
}
