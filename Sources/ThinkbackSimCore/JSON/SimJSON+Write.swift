extension SimJSON {
    /// The compact spelling: no whitespace, members in order, strings as UTF-8 escaping only
    /// `"`, `\` and control characters.
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        write(into: &out, sorted: false)
        return out
    }

    /// The compact spelling as a `String`.
    public var text: String { String(decoding: bytes, as: UTF8.self) }

    /// The canonical spelling of product.md §1: compact, object keys sorted by code point,
    /// strings by their decoded value, numbers as their literal text.
    public var canonicalBytes: [UInt8] {
        var out: [UInt8] = []
        write(into: &out, sorted: true)
        return out
    }

    /// Appends the compact (or, with `sorted`, canonical) spelling to `out`.
    public func write(into out: inout [UInt8], sorted: Bool = false) {
        switch self {
        case .null: out.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C])
        case .bool(let b): out.append(contentsOf: Array((b ? "true" : "false").utf8))
        case .number(let n): out.append(contentsOf: Array(n.utf8))
        case .string(let s): SimJSON.writeString(s, into: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                item.write(into: &out, sorted: sorted)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            let ordered = sorted ? members.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) } : members
            for (i, member) in ordered.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                SimJSON.writeString(member.key, into: &out)
                out.append(UInt8(ascii: ":"))
                member.value.write(into: &out, sorted: sorted)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// Appends `s` as a JSON string literal: UTF-8, escaping only `"`, `\` and control characters.
    public static func writeString(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case 0x22: out.append(contentsOf: [0x5C, 0x22])
            case 0x5C: out.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0x08: out.append(contentsOf: [0x5C, UInt8(ascii: "b")])
            case 0x0C: out.append(contentsOf: [0x5C, UInt8(ascii: "f")])
            case 0x00..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(b >> 4)], hex[Int(b & 0xF)]])
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// The canonical spelling of a tool call's arguments string: the canonical JSON when it
    /// parses, else the raw text (product.md §1).
    public static func canonicalArguments(_ arguments: String) -> String {
        guard let value = try? SimJSON.parse(arguments) else { return arguments }
        return String(decoding: value.canonicalBytes, as: UTF8.self)
    }
}
