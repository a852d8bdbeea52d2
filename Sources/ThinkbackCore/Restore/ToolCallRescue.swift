/// Tool calls leaked into the reasoning (docs/product.md §9, issue 21): MiMo sometimes writes a
/// call inside `reasoning_content` instead of `tool_calls`, and the agent stalls. This finds
/// such calls in the two templates open models use, and turns them into real ones.
///
/// - Qwen3-XML: `<tool_call><function=NAME><parameter=KEY>VALUE</parameter>…</function></tool_call>`,
///   whitespace between tags free; a value's surrounding newlines are trimmed, and a value that
///   parses as JSON stays JSON, else it becomes a string.
/// - JSON: `<tool_call>{"name": NAME, "arguments": {…}}</tool_call>` (arguments also as a string
///   holding the object).
///
/// Only names the request offered, only whole calls: anything malformed is left alone.
public enum ToolCallRescue {
    /// One leaked call: the function's name and its arguments as a JSON object's text.
    public struct Call: Sendable, Equatable {
        public var name: String
        public var arguments: [UInt8]

        public init(name: String, arguments: [UInt8]) {
            self.name = name
            self.arguments = arguments
        }
    }

    /// Every whole leaked call in `reasoning` (decoded text) naming a tool of `offered`, in order.
    public static func calls(in reasoning: [UInt8], offered: Set<String>) -> [Call] {
        guard !offered.isEmpty else { return [] }
        var out: [Call] = []
        var from = 0
        while let open = find(Array("<tool_call>".utf8), in: reasoning, from: from) {
            let innerStart = open + 11
            guard let close = find(Array("</tool_call>".utf8), in: reasoning, from: innerStart) else { break }
            from = close + 12
            let inner = trimmed(Array(reasoning[innerStart ..< close]), whitespace: true)
            let call = inner.first == UInt8(ascii: "{") ? jsonForm(inner) : xmlForm(inner)
            if let call, offered.contains(call.name) { out.append(call) }
        }
        return out
    }

    /// `<function=NAME>` (`<parameter=KEY>VALUE</parameter>`)* `</function>`.
    static func xmlForm(_ s: [UInt8]) -> Call? {
        var i = 0
        func skipSpace() { while i < s.count, isSpace(s[i]) { i += 1 } }
        func expect(_ literal: String) -> Bool {
            let bytes = literal.utf8
            guard i + bytes.count <= s.count, s[i ..< i + bytes.count].elementsEqual(bytes) else { return false }
            i += bytes.count
            return true
        }
        /// Up to `>`: a name (no `<`, `>` or newline in it).
        func name() -> String? {
            let start = i
            while i < s.count, s[i] != UInt8(ascii: ">") {
                if s[i] == UInt8(ascii: "<") || s[i] == 0x0A { return nil }
                i += 1
            }
            guard i < s.count, i > start else { return nil }
            let text = String(decoding: s[start ..< i], as: UTF8.self)
            i += 1
            let t = text.trimmingASCIISpaces
            return t.isEmpty ? nil : t
        }
        skipSpace()
        guard expect("<function="), let function = name() else { return nil }
        var members: [([UInt8], [UInt8])] = []
        while true {
            skipSpace()
            if expect("</function>") { break }
            guard expect("<parameter="), let key = name() else { return nil }
            guard let end = find(Array("</parameter>".utf8), in: s, from: i) else { return nil }
            let raw = trimmed(Array(s[i ..< end]), whitespace: false)
            i = end + 12
            let value: [UInt8] = !raw.isEmpty && raw.withUnsafeBytes({ JSONValidator.isValid($0) }) ? raw : JSONStringEncoder.encode(raw)
            members.append((JSONStringEncoder.encode(Array(key.utf8)), value))
        }
        skipSpace()
        guard i == s.count else { return nil }
        var arguments: [UInt8] = [UInt8(ascii: "{")]
        for (n, (k, v)) in members.enumerated() {
            if n > 0 { arguments.append(UInt8(ascii: ",")) }
            arguments += k + [UInt8(ascii: ":")] + v
        }
        arguments.append(UInt8(ascii: "}"))
        return Call(name: function, arguments: arguments)
    }

    /// `{"name": NAME, "arguments": {…} | "{…}"}`.
    static func jsonForm(_ s: [UInt8]) -> Call? {
        s.withUnsafeBytes { raw -> Call? in
            guard JSONValidator.isValid(raw) else { return nil }
            var r = JSONReader(raw)
            var name: String?
            var arguments: [UInt8]?
            do {
                guard try r.peekKind() == .object else { return nil }
                try r.beginObject()
                while let key = try r.nextKey() {
                    let v = try r.skipValue()
                    if key.equals("name", in: raw) {
                        name = v.stringSpan?.decodedString(in: raw)
                    } else if key.equals("arguments", in: raw) || key.equals("parameters", in: raw) {
                        if v.kind == .object {
                            arguments = Array(raw[v.range])
                        } else if let text = v.stringSpan?.decodedString(in: raw) {
                            let bytes = Array(text.utf8)
                            let isObject = bytes.withUnsafeBytes { b -> Bool in
                                var reader = JSONReader(b)
                                return JSONValidator.isValid(b) && (try? reader.peekKind()) == .object
                            }
                            arguments = isObject ? bytes : nil
                        }
                    }
                }
            } catch {
                return nil
            }
            guard let name, !name.isEmpty else { return nil }
            return Call(name: name, arguments: arguments ?? Array("{}".utf8))
        }
    }

    /// The edits that add `calls` to a whole chat answer's first choice with no tool calls:
    /// `tool_calls` at the end of its message (ids `idFor(i)`), `finish_reason: "tool_calls"`.
    public static func edits(response: ChatResponseScan, choice: Int, calls: [Call], ids: [String]) -> [JSONEdit] {
        guard choice < response.messageRanges.count, !response.messageRanges[choice].isEmpty, calls.count == ids.count else { return [] }
        let message = response.messageRanges[choice]
        var list = Array(#","tool_calls":["#.utf8)
        for (n, call) in calls.enumerated() {
            if n > 0 { list.append(UInt8(ascii: ",")) }
            list += callObject(id: ids[n], name: call.name, arguments: call.arguments)
        }
        list.append(UInt8(ascii: "]"))
        var edits = [JSONEdit.insert(list, at: message.upperBound - 1)]
        let finish = response.finishReasonRanges[choice]
        if !finish.isEmpty { edits.append(.replace(finish, with: Array(#""tool_calls""#.utf8))) }
        return edits
    }

    /// The SSE events that give a stream's choice `choice` the rescued `calls`: one chunk with
    /// their deltas, one with `finish_reason: "tool_calls"` (to go before `[DONE]`).
    public static func streamEvents(calls: [Call], ids: [String], choice: Int, model: String) -> [UInt8] {
        let head = Array(#"data: {"id":"chatcmpl-rescue","object":"chat.completion.chunk","created":0,"model":"#.utf8)
            + JSONStringEncoder.encode(model) + Array(#","choices":[{"index":\#(choice)"#.utf8)
        var out = head + Array(#","delta":{"tool_calls":["#.utf8)
        for (n, call) in zip(ids.indices, calls) {
            if n > 0 { out.append(UInt8(ascii: ",")) }
            out += callObject(id: ids[n], name: call.name, arguments: call.arguments, index: n)
        }
        out += Array(#"]},"finish_reason":null}]}"#.utf8) + [0x0A, 0x0A]
        out += head + Array(#","delta":{},"finish_reason":"tool_calls"}]}"#.utf8) + [0x0A, 0x0A]
        return out
    }

    /// One tool call as chat completions write it (`index` first for a stream's delta);
    /// `arguments`: the JSON text, sent as the string OpenAI's format wants.
    public static func callObject(id: String, name: String, arguments: [UInt8], index: Int? = nil) -> [UInt8] {
        var out = Array("{".utf8)
        if let index { out += Array(#""index":\#(index),"#.utf8) }
        out += Array(#""id":"#.utf8) + JSONStringEncoder.encode(id)
        out += Array(#","type":"function","function":{"name":"#.utf8) + JSONStringEncoder.encode(name)
        out += Array(#","arguments":"#.utf8) + JSONStringEncoder.encode(arguments) + Array("}}".utf8)
        return out
    }

    // MARK: bytes

    static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 }

    /// `s` without leading and trailing newlines (and, with `whitespace`, spaces and tabs).
    static func trimmed(_ s: [UInt8], whitespace: Bool) -> [UInt8] {
        func drop(_ b: UInt8) -> Bool { b == 0x0A || b == 0x0D || (whitespace && (b == 0x20 || b == 0x09)) }
        var lo = 0, hi = s.count
        while lo < hi, drop(s[lo]) { lo += 1 }
        while hi > lo, drop(s[hi - 1]) { hi -= 1 }
        return Array(s[lo ..< hi])
    }

    /// The first `needle` in `haystack` at or after `from` (no allocation: this runs over a
    /// whole answer's reasoning at the end of every stream that offered tools).
    static func find(_ needle: [UInt8], in haystack: [UInt8], from: Int) -> Int? {
        guard let first = needle.first, haystack.count >= needle.count else { return nil }
        var i = from
        while i + needle.count <= haystack.count {
            if haystack[i] == first && haystack[i ..< i + needle.count].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }
}

extension String {
    var trimmingASCIISpaces: String {
        var s = Substring(self)
        while s.first == " " || s.first == "\t" { s.removeFirst() }
        while s.last == " " || s.last == "\t" { s.removeLast() }
        return String(s)
    }
}
