/// Arguments for a scripted tool call, filled from the tool's JSON schema `properties`.
enum ToolArguments {
    /// String values the model picks from: plain, CJK, emoji, quotes and backslashes, so that
    /// arguments exercise escaping and canonicalisation too.
    static let strings = [
        "Beijing", "北京", "São Paulo", #"C:\sim\notes.txt"#, #"say "hi""#, "東京 🗼", "/tmp/sim/report.md", "Zürich",
    ]

    /// An object value for `schema` (an object schema with `properties`; anything else gives `{}`).
    /// Properties are filled in code-point order of their names, so that the answer depends on
    /// the schema's content, not on how a client's JSON library ordered its keys.
    static func value(for schema: SimJSON?, rng: inout SplitMix64) -> SimJSON {
        object(schema?["properties"], depth: 1, rng: &rng)
    }

    private static func object(_ properties: SimJSON?, depth: Int, rng: inout SplitMix64) -> SimJSON {
        guard let members = properties?.objectMembers else { return [:] }
        let sorted = members.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        return .object(sorted.map { SimJSONMember($0.key, fill($0.value, depth: depth, rng: &rng)) })
    }

    private static func fill(_ schema: SimJSON, depth: Int, rng: inout SplitMix64) -> SimJSON {
        if let choices = schema["enum"]?.arrayValue, !choices.isEmpty {
            return choices[rng.below(choices.count)]
        }
        var type = schema["type"]?.stringValue
        if type == nil, let types = schema["type"]?.arrayValue {
            type = types.compactMap(\.stringValue).first(where: { $0 != "null" })
        }
        switch type {
        case "integer": return .int(1 + rng.below(100))
        case "number": return .number("\(rng.below(100)).\(1 + rng.below(9))")
        case "boolean": return .bool(rng.below(2) == 1)
        case "array":
            guard depth < 4 else { return [] }
            return [fill(schema["items"] ?? ["type": "string"], depth: depth + 1, rng: &rng)]
        case "object":
            guard depth < 4 else { return [:] }
            return object(schema["properties"], depth: depth + 1, rng: &rng)
        case "null": return .null
        default: return .string(strings[rng.below(strings.count)])
        }
    }

    /// The arguments string as models write it: Python's `json.dumps` layout (`{"a": 1, "b": 2}`),
    /// UTF-8 rather than `\u` escapes. Stable for a given value.
    static func spell(_ value: SimJSON) -> String {
        var out: [UInt8] = []
        spell(value, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    private static func spell(_ value: SimJSON, into out: inout [UInt8]) {
        switch value {
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(contentsOf: [UInt8(ascii: ","), 0x20]) }
                spell(item, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (i, m) in members.enumerated() {
                if i > 0 { out.append(contentsOf: [UInt8(ascii: ","), 0x20]) }
                SimJSON.writeString(m.key, into: &out)
                out.append(contentsOf: [UInt8(ascii: ":"), 0x20])
                spell(m.value, into: &out)
            }
            out.append(UInt8(ascii: "}"))
        default: value.write(into: &out)
        }
    }

    /// The call written the way MiMo leaks it into its reasoning (Qwen3-XML; provider-protocol.md
    /// "Thinking mode"): values keep their surrounding newlines; non-strings are JSON.
    static func qwenXML(name: String, input: SimJSON) -> String {
        var s = "<tool_call>\n<function=\(name)>\n"
        for m in input.objectMembers ?? [] {
            let v = m.value.stringValue ?? m.value.text
            s += "<parameter=\(m.key)>\n\(v)\n</parameter>\n"
        }
        return s + "</function>\n</tool_call>"
    }
}
