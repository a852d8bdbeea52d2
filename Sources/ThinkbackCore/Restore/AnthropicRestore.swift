/// The Anthropic Messages adapter of the restore core (issue 19; product.md §1–§3 for the
/// second wire format): an assistant message's reasoning is its `thinking` and
/// `redacted_thinking` blocks, a tool call is a `tool_use` block, its result a `tool_result`
/// block of the next user message. Keys, decisions and stores are the core's
/// (`RestorePlanner`); this type says where things are and splices.
public enum AnthropicRestore {
    /// The keys of every assistant message that lacks its thinking, and the history digest.
    public static func plan(_ scan: AnthropicRequestScan, body: UnsafeRawBufferPointer,
                            scope: UpstreamPreset.RestoreScope, builder: KeyBuilder) -> RestorePlan {
        var history = HistoryHasher()
        var turns: [AssistantTurn] = []
        for (index, message) in scan.messages.enumerated() {
            guard message.role == "assistant" else {
                history.addMessage(role: (message.role ?? "").utf8,
                                   content: UnsafeRawBufferPointer(rebasing: body[message.content.valueRange]))
                continue
            }
            let uses = message.toolUses
            let ids = uses.compactMap { $0.id.map { Array($0.utf8) } }
            let turn = AssistantTurn(messageIndex: index, reasoning: message.hasThinking ? .present : .absent,
                                     toolCallIDs: ids, content: contentKey(message, uses: uses, body: body),
                                     history: history.digest())
            history.addAssistant(content: turn.content)
            turns.append(turn)
        }
        return RestorePlanner.plan(turns, history: history.digest(), scope: scope, builder: builder)
    }

    /// The id-free content key of a request's assistant message: its text blocks (or string)
    /// joined and trimmed, then each `tool_use`'s name and canonical input.
    public static func contentKey(_ message: AnthropicMessage, body: UnsafeRawBufferPointer) -> ContentKeyHasher {
        contentKey(message, uses: message.toolUses, body: body)
    }

    static func contentKey(_ message: AnthropicMessage, uses: [AnthropicBlock], body: UnsafeRawBufferPointer) -> ContentKeyHasher {
        var hasher = ContentKeyHasher(content: ChatContentText.normalized(message.content, in: body))
        for use in uses {
            let input = use.input.map { UnsafeRawBufferPointer(rebasing: body[$0]) } ?? UnsafeRawBufferPointer(start: nil, count: 0)
            hasher.addToolCall(name: (use.name ?? "").utf8, arguments: JSONCanonical.canonicalArguments(input))
        }
        return hasher
    }

    /// The entry and keys to record for an answer (as `ChatRestore.record`).
    public static func record(_ message: CapturedAnthropicMessage, issuer: String, history: SHA256Digest,
                              builder: KeyBuilder, nowMs: UInt64) -> (StoredReasoning, [CacheKey]) {
        let keys = RestorePlanner.captureKeys(history: history, content: message.contentKey,
                                              toolCallIDs: message.toolUses.map { Array($0.id.utf8) }, builder: builder)
        let value = StoredReasoning(text: AnthropicThinking(issuer: issuer, blocks: message.thinking).encoded,
                                    format: .anthropicThinking, storedAtMilliseconds: nowMs)
        return (value, keys)
    }

    /// Decides every pending message and builds the edits. `issuer`: the upstream this request
    /// goes to; thinking another one signed goes back without its signature.
    public static func outcome(_ scan: AnthropicRequestScan, body: UnsafeRawBufferPointer, pending: [RestorePending],
                               found: [[StoredReasoning?]], policy: RestorePolicy, issuer: String) -> RestoreOutcome {
        RestorePlanner.outcome(
            pending: pending, found: found, policy: policy,
            accepts: { $0.format == .anthropicThinking && AnthropicThinking(decoding: $0.text, validating: false) != nil },
            edits: { p, action in
                let message = scan.messages[p.turn.messageIndex]
                guard case .restore(let value, _) = action else {
                    let block = Array(#"{"type":"thinking","thinking":"#.utf8) + JSONStringEncoder.encode(policy.placeholder)
                        + Array(#","signature":""}"#.utf8)
                    return insertEdits([.init(before: 0, bytes: block)], into: message, body: body)
                }
                guard let recorded = AnthropicThinking(decoding: value.text, validating: false) else { return [] }
                let blocks = recorded.issuer == issuer ? recorded.blocks : recorded.blocks.compactMap(unsigned)
                return insertEdits(blocks, into: message, body: body)
            },
            rewrite: { rewritten in
                rewritten.flatMap { rewriteEdits(scan, body: body, at: $0.key, textualize: $0.value == .textualize) }
            })
    }

    /// Puts `blocks` back among the message's blocks, each after `before` of them (or at the
    /// end when the message has fewer). A string `content` becomes an array: the blocks, then
    /// the text.
    static func insertEdits(_ blocks: [AnthropicThinking.Block], into message: AnthropicMessage,
                            body: UnsafeRawBufferPointer) -> [JSONEdit] {
        guard !blocks.isEmpty else { return [] }
        switch message.content.kind {
        case .array?:
            let others = message.blocks
            var edits: [JSONEdit] = []
            var i = 0
            while i < blocks.count {
                let at = min(blocks[i].before, others.count)
                var joined: [UInt8] = []
                while i < blocks.count, min(blocks[i].before, others.count) == at {
                    if !joined.isEmpty { joined.append(UInt8(ascii: ",")) }
                    joined += blocks[i].bytes
                    i += 1
                }
                if at < others.count {
                    edits.append(.insert(joined + [UInt8(ascii: ",")], at: others[at].range.lowerBound))
                } else if let last = others.last {
                    edits.append(.insert([UInt8(ascii: ",")] + joined, at: last.range.upperBound))
                } else {
                    edits.append(.insert(joined, at: message.content.valueRange.lowerBound + 1))
                }
            }
            return edits
        case .string?:
            var out: [UInt8] = [UInt8(ascii: "[")]
            for (n, block) in blocks.enumerated() {
                if n > 0 { out.append(UInt8(ascii: ",")) }
                out += block.bytes
            }
            if message.content.valueRange.count > 2 {
                out += Array(#",{"type":"text","text":"#.utf8) + Array(body[message.content.valueRange]) + [UInt8(ascii: "}")]
            }
            out.append(UInt8(ascii: "]"))
            return [.replace(message.content.valueRange, with: out)]
        default:
            return []
        }
    }

    /// A thinking block without its signature (for an upstream that did not sign it); nil for
    /// a redacted block, which is nothing without the signer.
    static func unsigned(_ block: AnthropicThinking.Block) -> AnthropicThinking.Block? {
        block.bytes.withUnsafeBytes { raw -> AnthropicThinking.Block? in
            var r = JSONReader(raw)
            var type: String?
            var thinking: Range<Int>?
            do {
                try r.beginObject()
                while let key = try r.nextKey() {
                    let v = try r.skipValue()
                    if key.equals("type", in: raw) { type = v.stringSpan?.decodedString(in: raw) }
                    if key.equals("thinking", in: raw), v.kind == .string { thinking = v.range }
                }
            } catch {
                return nil
            }
            guard type == "thinking", let thinking else { return nil }
            let bytes = Array(#"{"type":"thinking","thinking":"#.utf8) + Array(raw[thinking]) + Array(#","signature":""}"#.utf8)
            return .init(before: block.before, bytes: bytes)
        }
    }

    // MARK: strip and textualize

    /// Rewrites the assistant message at `index` without its `tool_use` blocks (strip) or with
    /// them as text (textualize), and the `tool_result` blocks answering them in the next user
    /// message alike, so no result is left without its call.
    static func rewriteEdits(_ scan: AnthropicRequestScan, body: UnsafeRawBufferPointer, at index: Int,
                             textualize: Bool) -> [JSONEdit] {
        let message = scan.messages[index]
        var names: [String: String] = [:]
        for use in message.toolUses { if let id = use.id { names[id] = use.name ?? "" } }
        var edits: [JSONEdit] = []
        // The assistant message.
        var kept: [[UInt8]] = []
        var text = ChatContentText.text(message.content, in: body)
        for block in message.blocks {
            if block.type == .toolUse {
                guard textualize else { continue }
                if !text.isEmpty { text.append(0x0A) }
                text += Array("[tool call] ".utf8) + Array((block.name ?? "").utf8) + [UInt8(ascii: "(")]
                text += block.input.map { Array(body[$0]) } ?? []
                text.append(UInt8(ascii: ")"))
            } else if !textualize {
                kept.append(Array(body[block.range]))
            }
        }
        if textualize {
            kept = [textBlock(text)]
        } else if kept.isEmpty {
            kept = [textBlock(Array("[tool calls omitted]".utf8))]
        }
        edits.append(.replace(message.content.valueRange, with: array(kept)))
        // The next user message's results.
        let next = index + 1
        guard next < scan.messages.count, scan.messages[next].role == "user", scan.messages[next].content.kind == .array else {
            return edits
        }
        let user = scan.messages[next]
        var blocks: [[UInt8]] = []
        var changed = false
        for block in user.blocks {
            guard block.type == .toolResult, let id = block.toolUseID, let name = names[id] else {
                blocks.append(Array(body[block.range]))
                continue
            }
            changed = true
            if textualize {
                var line = Array("[tool result ".utf8) + Array(name.utf8) + Array("] ".utf8)
                line += ChatContentText.text(block.content, in: body)
                blocks.append(textBlock(line))
            }
        }
        guard changed else { return edits }
        if blocks.isEmpty { blocks = [textBlock(Array("[tool results omitted]".utf8))] }
        edits.append(.replace(user.content.valueRange, with: array(blocks)))
        return edits
    }

    private static func textBlock(_ text: [UInt8]) -> [UInt8] {
        Array(#"{"type":"text","text":"#.utf8) + JSONStringEncoder.encode(text) + [UInt8(ascii: "}")]
    }

    private static func array(_ items: [[UInt8]]) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "[")]
        for (n, item) in items.enumerated() {
            if n > 0 { out.append(UInt8(ascii: ",")) }
            out += item
        }
        out.append(UInt8(ascii: "]"))
        return out
    }
}
