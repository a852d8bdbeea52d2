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
    /// The digest of the id-free content key (normalised content, tool names, canonical
    /// arguments: `ContentKeyHasher.finalize()`).
    public var content: SHA256Digest
    /// False for empty content without tool calls: such messages all share one content digest,
    /// which therefore says nothing (`ContentKeyHasher.isKeyable`).
    public var contentIsKeyable: Bool
    /// The digest of every message before this one (`HistoryHasher`).
    public var history: SHA256Digest

    public init(messageIndex: Int, reasoning: ReasoningPresence, toolCallIDs: [[UInt8]],
                content: ContentKeyHasher, history: SHA256Digest) {
        self.messageIndex = messageIndex
        self.reasoning = reasoning
        self.toolCallIDs = toolCallIDs
        self.content = content.finalize()
        self.contentIsKeyable = content.isKeyable
        self.history = history
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
    /// Inject the recorded reasoning, found by a key of this kind.
    case restore(StoredReasoning, via: CacheKey.Kind)
    case placeholder
    case textualize
    case strip
    case reject
}

/// One assistant message that wants its reasoning back, with the keys to look it up by.
public struct RestorePending: Sendable {
    public var turn: AssistantTurn
    public var keys: [CacheKey]
}

/// What restoring and capturing need from one request, whatever its wire format: the assistant
/// messages in scope with their keys, and the digest of the whole history — the history of
/// the answer this request will get, which its capture is keyed by.
public struct RestorePlan: Sendable {
    public var pending: [RestorePending]
    public var history: SHA256Digest
}

/// What restoring one request amounts to.
public struct RestoreOutcome: Sendable {
    /// The edits to splice into the original body (empty: forward it unchanged).
    public var edits: [JSONEdit] = []
    /// Each pending message and what became of it.
    public var actions: [(messageIndex: Int, action: TurnAction)] = []
    /// Under `reject`: the first message that could not be restored.
    public var rejectedMessageIndex: Int?
    /// Whether a placeholder went upstream (so `auto` may fall back on a refusal).
    public var usedPlaceholder: Bool { actions.contains { $0.action == .placeholder } }

    public init() {}
}

/// The format-independent restore decisions: which keys to look up, and what each assistant
/// message becomes. No I/O: the runtime looks the keys up and the format adapter splices.
public enum RestorePlanner {
    /// The plan of a request whose assistant messages are `turns` (in order) and whose
    /// messages hash to `history`.
    public static func plan(_ turns: [AssistantTurn], history: SHA256Digest, scope: UpstreamPreset.RestoreScope,
                            builder: KeyBuilder) -> RestorePlan {
        var pending: [RestorePending] = []
        for (turn, keys) in zip(turns, keys(for: turns, scope: scope, builder: builder)) {
            if let keys { pending.append(RestorePending(turn: turn, keys: keys)) }
        }
        return RestorePlan(pending: pending, history: history)
    }

    /// Whether the turn is in scope for restoration at all.
    public static func wantsRestore(_ turn: AssistantTurn, scope: UpstreamPreset.RestoreScope) -> Bool {
        guard turn.reasoning.needsRestore else { return false }
        return turn.hasToolCalls || scope == .all
    }

    /// The keys to look up for each turn in scope (`nil` for the others), best first: the
    /// context key, then the id keys, then the content key (product.md §1–§2).
    ///
    /// `turns` are every assistant message of the request, in order. A weaker key that two of
    /// them share — two identical calls in one history, or one reused id with the same content
    /// — cannot tell them apart, so neither gets it: only its context key can find it.
    public static func keys(for turns: [AssistantTurn], scope: UpstreamPreset.RestoreScope,
                            builder: KeyBuilder) -> [[CacheKey]?] {
        var contentCounts: [SHA256Digest: Int] = [:]
        contentCounts.reserveCapacity(turns.count)
        var shared = false
        for turn in turns where turn.contentIsKeyable {
            contentCounts[turn.content, default: 0] += 1
            if contentCounts[turn.content] == 2 { shared = true }
        }
        // Id keys can only collide between turns that share a content digest.
        var idCounts: [CacheKey: Int] = [:]
        if shared {
            for turn in turns where (contentCounts[turn.content] ?? 0) > 1 {
                for key in idKeys(of: turn, builder: builder) { idCounts[key, default: 0] += 1 }
            }
        }
        return turns.map { turn in
            guard wantsRestore(turn, scope: scope) else { return nil }
            var keys = [builder.contextKey(history: turn.history, content: turn.content)]
            keys += idKeys(of: turn, builder: builder).filter { (idCounts[$0] ?? 0) <= 1 }
            if turn.contentIsKeyable, contentCounts[turn.content] == 1 {
                keys.append(builder.contentKey(digest: turn.content))
            }
            return keys
        }
    }

    /// The keys a captured message is recorded under: its context, its ids with its content,
    /// and its content alone (when keyable).
    public static func captureKeys(history: SHA256Digest, content: ContentKeyHasher, toolCallIDs: [[UInt8]],
                                   builder: KeyBuilder) -> [CacheKey] {
        let digest = content.finalize()
        var keys = [builder.contextKey(history: history, content: digest)]
        keys += toolCallIDs.compactMap { builder.toolCallKey(id: $0, content: digest) }
        if content.isKeyable { keys.append(builder.contentKey(digest: digest)) }
        return keys
    }

    private static func idKeys(of turn: AssistantTurn, builder: KeyBuilder) -> [CacheKey] {
        turn.toolCallIDs.compactMap { builder.toolCallKey(id: $0, content: turn.content) }
    }

    /// Decides every pending turn from its lookups (`found[i]` answers `pending[i].keys`), for
    /// a wire format that can splice the values `accepts` says (a value of the other format is
    /// no answer here), and gathers the edits: `edits` for a turn restored or given the
    /// placeholder, `rewrite` once for every turn stripped or textualized (with the messages
    /// answering them). Under `reject`, no edit at all.
    public static func outcome(pending: [RestorePending], found: [[StoredReasoning?]], policy: RestorePolicy,
                               accepts: (StoredReasoning) -> Bool,
                               edits: (RestorePending, TurnAction) -> [JSONEdit],
                               rewrite: ([Int: TurnAction]) -> [JSONEdit]) -> RestoreOutcome {
        var result = RestoreOutcome()
        var rewritten: [Int: TurnAction] = [:]
        for (k, p) in pending.enumerated() {
            let answers = (k < found.count ? found[k] : []).map { value in
                value.flatMap { $0.isAmbiguous || accepts($0) ? $0 : nil }
            }
            let action = decide(p.turn, keys: p.keys, found: answers, policy: policy)
            result.actions.append((p.turn.messageIndex, action))
            switch action {
            case .untouched:
                break
            case .reject:
                if result.rejectedMessageIndex == nil { result.rejectedMessageIndex = p.turn.messageIndex }
            case .strip, .textualize:
                rewritten[p.turn.messageIndex] = action
            case .restore, .placeholder:
                result.edits += edits(p, action)
            }
        }
        if result.rejectedMessageIndex != nil {
            result.edits = []
            return result
        }
        if !rewritten.isEmpty { result.edits += rewrite(rewritten) }
        return result
    }

    /// Decides one turn from its lookup results (same order as its keys). An ambiguity
    /// marker is no answer: the next key is tried.
    public static func decide(_ turn: AssistantTurn, keys: [CacheKey], found: [StoredReasoning?],
                              policy: RestorePolicy) -> TurnAction {
        guard wantsRestore(turn, scope: policy.scope) else { return .untouched }
        for (key, value) in zip(keys, found) {
            if let value, !value.isAmbiguous { return .restore(value, via: key.kind) }
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
