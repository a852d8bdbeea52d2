import ThinkbackCore

/// The digest of a conversation prefix: where a message sits in its conversation, so that the
/// ledger can tell a message from its look-alikes in other rounds (repeated Kimi ids, an agent
/// repeating a call).
///
/// Per message, in order: the role, the content text (the string, or the text parts joined;
/// trimmed), an assistant's tool calls (names and canonical arguments) and, on the Anthropic
/// route, the text of its tool results. Never reasoning, tool-call ids, `tool_call_id` or
/// `name`: clients drop reasoning and renumber ids, and a message's place must survive both.
struct ConversationDigest {
    private var hash = SHA256()

    /// The digest of the messages added so far.
    var value: SHA256Digest { hash.finalize() }

    /// Adds one message.
    mutating func add(role: String, text: String, calls: [HistoryCall] = [], results: [String] = []) {
        field(1, role)
        field(2, text.trimmingWhitespace)
        for call in calls {
            field(3, call.name)
            field(4, call.canonicalArguments)
        }
        for result in results { field(5, result.trimmingWhitespace) }
        hash.update(CollectionOfOne(UInt8(0)))
    }

    // Tag and length before every field, so that no two different messages hash the same bytes.
    private mutating func field(_ tag: UInt8, _ s: String) {
        var head = [tag]
        withUnsafeBytes(of: UInt64(s.utf8.count).littleEndian) { head.append(contentsOf: $0) }
        hash.update(head)
        hash.update(Array(s.utf8))
    }

    /// `prefixes[i]` is the digest of `messages[0..<i]`; the last one covers them all (the
    /// place of the answer to this request).
    static func prefixes(_ messages: [ChatMessage]) -> [SHA256Digest] {
        var digest = ConversationDigest()
        var out = [digest.value]
        for m in messages {
            digest.add(role: m.role, text: m.contentText, calls: m.role == "assistant" ? m.toolCalls : [])
            out.append(digest.value)
        }
        return out
    }

    /// The same for an Anthropic request: `prefixes[0]` covers the `system` text.
    static func prefixes(system: String, messages: [AnthropicMessage]) -> [SHA256Digest] {
        var digest = ConversationDigest()
        digest.add(role: "system", text: system)
        var out = [digest.value]
        for m in messages {
            digest.add(role: m.role, text: m.text, calls: m.toolUses, results: m.toolResultTexts)
            out.append(digest.value)
        }
        return out
    }
}
