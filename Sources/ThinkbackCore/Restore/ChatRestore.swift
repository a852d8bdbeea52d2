/// The OpenAI chat-completions adapter of the restore core (product.md §1–§3): from a scanned
/// request to the keys to look up, and from the lookups to the edits spliced into the
/// original bytes. The decisions themselves are `RestorePlanner`'s, shared with Anthropic.
public enum ChatRestore {
    public typealias Pending = RestorePending
    public typealias Plan = RestorePlan
    public typealias Outcome = RestoreOutcome

    /// One pass over the scanned messages: the history digest before each assistant message,
    /// every assistant message's content key (weaker keys two messages share are left out),
    /// and the keys of those in `scope` whose reasoning is missing.
    public static func plan(_ scan: ChatRequestScan, body: UnsafeRawBufferPointer,
                            scope: UpstreamPreset.RestoreScope, builder: KeyBuilder) -> Plan {
        var history = HistoryHasher()
        var turns: [AssistantTurn] = []
        turns.reserveCapacity(scan.messages.count / 2)
        for (index, message) in scan.messages.enumerated() {
            guard message.role == "assistant" else {
                // As the client spelt it: it sends its own messages the same way every time,
                // and decoding every tool result would cost more than the whole scan.
                history.addMessage(role: (message.role ?? "").utf8,
                                   content: UnsafeRawBufferPointer(rebasing: body[message.content.valueRange]))
                continue
            }
            let ids = message.toolCalls.compactMap { $0.id.map { Array($0.utf8) } }
            let turn = AssistantTurn(messageIndex: index, reasoning: presence(message), toolCallIDs: ids,
                                     content: contentKey(message, body: body), history: history.digest())
            history.addAssistant(content: turn.content)
            turns.append(turn)
        }
        return RestorePlanner.plan(turns, history: history.digest(), scope: scope, builder: builder)
    }

    static func presence(_ message: ChatRequestMessage) -> ReasoningPresence {
        switch message.reasoningState {
        case .absent: return .absent
        case .null: return .null
        case .empty: return .empty
        case .nonEmpty, .notString: return .present
        }
    }

    /// The id-free content key of a request's assistant message: normalised content, then each
    /// tool call's name and canonical arguments (the same fields capture hashes).
    public static func contentKey(_ message: ChatRequestMessage, body: UnsafeRawBufferPointer) -> ContentKeyHasher {
        var hasher = ContentKeyHasher(content: message.normalizedContent(in: body))
        for call in message.toolCalls {
            let arguments = call.argumentsText(in: body) ?? []
            hasher.addToolCall(name: (call.name ?? "").utf8, arguments: JSONCanonical.canonicalArguments(arguments))
        }
        return hasher
    }

    /// The content key hasher of a captured choice.
    public static func contentKey(_ choice: CapturedChoice) -> ContentKeyHasher {
        var hasher = ContentKeyHasher(content: choice.content)
        for call in choice.toolCalls {
            hasher.addToolCall(name: call.name.utf8, arguments: JSONCanonical.canonicalArguments(call.arguments))
        }
        return hasher
    }

    /// Decides every pending message from its lookups (`found[i]` answers `pending[i].keys`)
    /// and builds the edits.
    public static func outcome(_ scan: ChatRequestScan, body: UnsafeRawBufferPointer, pending: [Pending],
                               found: [[StoredReasoning?]], policy: RestorePolicy) -> Outcome {
        RestorePlanner.outcome(
            pending: pending, found: found, policy: policy,
            accepts: { $0.format == .reasoningContentJSON || $0.format == .reasoningContent },
            edits: { p, action in
                let message = scan.messages[p.turn.messageIndex]
                switch action {
                case .restore(let value, _) where value.format == .reasoningContentJSON:
                    return [message.reasoningEdit(encodedValue: value.text)]
                case .restore(let value, _):
                    return [value.text.withUnsafeBytes { message.reasoningEdit(encoding: $0) }]
                default:
                    return [policy.placeholder.withUnsafeBytes { message.reasoningEdit(encoding: $0) }]
                }
            },
            rewrite: { rewriteEdits(scan, body: body, rewritten: $0, policy: policy) })
    }

    // MARK: strip and textualize

    /// Rewrites assistant messages (strip or textualize) together with the `tool` messages that
    /// answer their calls, so no `tool` message is left orphaned.
    static func rewriteEdits(_ scan: ChatRequestScan, body: UnsafeRawBufferPointer,
                             rewritten: [Int: TurnAction], policy: RestorePolicy) -> [JSONEdit] {
        var edits: [JSONEdit] = []
        var removed: [Int] = []
        for index in rewritten.keys.sorted() {
            let message = scan.messages[index]
            var names: [String: String] = [:]
            for call in message.toolCalls { if let id = call.id { names[id] = call.name ?? "" } }
            // The tool messages answering these calls: those that follow, up to the next
            // assistant message.
            var results: [Int] = []
            var j = index + 1
            while j < scan.messages.count, scan.messages[j].role != "assistant" {
                if scan.messages[j].role == "tool", let id = scan.messages[j].toolCallId, names[id] != nil {
                    results.append(j)
                }
                j += 1
            }
            let textualize = rewritten[index] == .textualize
            edits.append(.replace(message.range, with: assistantObject(message, body: body, textualize: textualize, policy: policy)))
            guard let first = results.first else { continue }
            if textualize {
                edits.append(.replace(scan.messages[first].range,
                                      with: toolResultsObject(results.map { scan.messages[$0] }, names: names, body: body)))
                removed += results.dropFirst()
            } else {
                removed += results
            }
        }
        // Removal edits only touch the gaps between messages and the removed messages, never
        // a replaced one; a replaced tool message is never in `removed`.
        edits += scan.removalEdits(forMessagesAt: removed)
        return edits
    }

    /// The assistant message without its tool calls: strip keeps the content as sent;
    /// textualize appends one `[tool call] NAME(ARGS)` line per call.
    static func assistantObject(_ message: ChatRequestMessage, body: UnsafeRawBufferPointer,
                                textualize: Bool, policy: RestorePolicy) -> [UInt8] {
        var out = Array(#"{"role":"assistant","content":"#.utf8)
        if textualize {
            var text = ChatContentText.text(message.content, in: body)
            for call in message.toolCalls {
                if !text.isEmpty { text.append(0x0A) }
                text += Array("[tool call] ".utf8) + Array((call.name ?? "").utf8) + [UInt8(ascii: "(")]
                text += call.argumentsText(in: body) ?? []
                text.append(UInt8(ascii: ")"))
            }
            out += JSONStringEncoder.encode(text)
        } else if message.content.kind == .string || message.content.kind == .array {
            out += UnsafeRawBufferPointer(rebasing: body[message.content.valueRange])
        } else {
            out += Array(#""""#.utf8)
        }
        // Providers that want reasoning on every assistant message (restore = all) get the
        // placeholder; the message no longer has tool calls, so it is never refused for it.
        if policy.scope == .all {
            out += Array(#","reasoning_content":"#.utf8) + JSONStringEncoder.encode(policy.placeholder)
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// One user message holding the tool results as `[tool result NAME] CONTENT` lines.
    static func toolResultsObject(_ results: [ChatRequestMessage], names: [String: String],
                                  body: UnsafeRawBufferPointer) -> [UInt8] {
        var text: [UInt8] = []
        for result in results {
            if !text.isEmpty { text.append(0x0A) }
            let name = result.toolCallId.flatMap { names[$0] } ?? ""
            text += Array("[tool result ".utf8) + Array(name.utf8) + Array("] ".utf8)
            text += ChatContentText.text(result.content, in: body)
        }
        return Array(#"{"role":"user","content":"#.utf8) + JSONStringEncoder.encode(text) + [UInt8(ascii: "}")]
    }

    // MARK: capture

    /// The entry and keys to record for one captured choice (product.md §1): the reasoning
    /// (absent = empty) as the provider spelt it, under its context (`history`: the request's
    /// messages), every tool-call id with its content, and its content key.
    public static func record(_ choice: CapturedChoice, history: SHA256Digest, builder: KeyBuilder,
                              nowMs: UInt64) -> (StoredReasoning, [CacheKey]) {
        let keys = RestorePlanner.captureKeys(history: history, content: contentKey(choice),
                                              toolCallIDs: choice.toolCalls.map { Array($0.id.utf8) }, builder: builder)
        return (choice.storedReasoning(storedAtMilliseconds: nowMs), keys)
    }
}
