/// Request hygiene (docs/product.md §8, issue 21): the fixes a provider needs, as edits spliced
/// into the client's bytes like restoration's, each only where the upstream needs it.
public enum ChatHygiene {
    /// One kind of fix, as counted and shown.
    public enum Fix: String, CaseIterable, Sendable {
        /// MiMo: `content: null` (or no `content`) on an assistant message with tool calls → `""`.
        case contentNull = "content-null"
        /// MiMo: a `tool` message's list of parts → their joined text.
        case toolContentList = "tool-content-list"
        /// DeepSeek, Kimi in thinking mode: a forced `tool_choice` → `"auto"`.
        case toolChoice = "tool-choice"
        /// Any upstream: `custom_openai_compatible//mimo-v2.5-pro` → `mimo-v2.5-pro`.
        case modelPrefix = "model-prefix"
    }

    /// The edits `scan` needs under `fixes` (with thinking on or off), and which fix each is.
    public static func edits(_ scan: ChatRequestScan, body: UnsafeRawBufferPointer, fixes: UpstreamPreset.Hygiene,
                             thinking: Bool) -> [(fix: Fix, edit: JSONEdit)] {
        var out: [(Fix, JSONEdit)] = []
        if scan.modelMember.kind == .string, let model = scan.model, let real = realModel(model) {
            out.append((.modelPrefix, .replace(scan.modelMember.valueRange, with: JSONStringEncoder.encode(Array(real.utf8)))))
        }
        if fixes.contains(.forcedToolChoice), thinking, isForced(scan.toolChoice, in: body) {
            out.append((.toolChoice, .replace(scan.toolChoice.valueRange, with: Array(#""auto""#.utf8))))
        }
        for m in scan.messages {
            if fixes.contains(.assistantContentNull), m.role == "assistant", !m.toolCalls.isEmpty {
                switch m.content.kind {
                case .null?:
                    out.append((.contentNull, .replace(m.content.valueRange, with: Array(#""""#.utf8))))
                case nil:
                    out.append((.contentNull, .insert(Array(#","content":"""#.utf8), at: m.closingBraceOffset)))
                default:
                    break
                }
            }
            if fixes.contains(.toolContentList), m.role == "tool", m.content.kind == .array {
                let text = ChatContentText.text(m.content, in: body)
                out.append((.toolContentList, .replace(m.content.valueRange, with: JSONStringEncoder.encode(text))))
            }
        }
        return out
    }

    /// The model name without a client's routing prefix (`PREFIX//NAME` → `NAME`), or nil when
    /// it has none.
    public static func realModel(_ model: String) -> String? {
        let bytes = Array(model.utf8)
        var i = bytes.count - 1
        while i > 0 {
            if bytes[i] == UInt8(ascii: "/") && bytes[i - 1] == UInt8(ascii: "/") {
                return i + 1 < bytes.count ? String(decoding: bytes[(i + 1)...], as: UTF8.self) : nil
            }
            i -= 1
        }
        return nil
    }

    /// `"required"` or an object naming a function.
    static func isForced(_ choice: ChatMember, in body: UnsafeRawBufferPointer) -> Bool {
        switch choice.kind {
        case .string?: return choice.stringSpan?.decodedString(in: body) == "required"
        case .object?: return true
        default: return false
        }
    }

    /// `hygiene` without the edits inside bytes that `others` rewrite (a message textualized or
    /// stripped is written anew, without the fix's need), so that no two edits overlap.
    /// Insertions at one offset all go (restoration's `reasoning_content` and the fix's
    /// `content` at a message's closing brace).
    public static func compatible(_ hygiene: [(fix: Fix, edit: JSONEdit)], with others: [JSONEdit]) -> [(fix: Fix, edit: JSONEdit)] {
        hygiene.filter { h in
            let r = h.edit.range
            return !others.contains { o in
                let q = o.range
                if q.isEmpty { return !r.isEmpty && r.lowerBound < q.lowerBound && q.lowerBound < r.upperBound }
                if r.isEmpty { return q.lowerBound < r.lowerBound && r.lowerBound < q.upperBound }
                return r.overlaps(q)
            }
        }
    }
}
