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

    /// The compact spelling with every non-ASCII character escaped as `\uXXXX`, astral ones as
    /// a surrogate pair (what Python's `json.dumps` writes by default, `ensure_ascii`).
    public var asciiBytes: [UInt8] {
        var out: [UInt8] = []
        write(into: &out, sorted: false, asciiOnly: true)
        return out
    }

    /// Appends the compact (or, with `sorted`, canonical) spelling to `out`; with `asciiOnly`,
    /// every non-ASCII character escaped.
    public func write(into out: inout [UInt8], sorted: Bool = false, asciiOnly: Bool = false) {
        switch self {
        case .null: out.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C])
        case .bool(let b): out.append(contentsOf: Array((b ? "true" : "false").utf8))
        case .number(let n): out.append(contentsOf: Array(n.utf8))
        case .string(let s): SimJSON.writeString(s, into: &out, asciiOnly: asciiOnly)
        case .codeUnits(let units): SimJSON.writeCodeUnits(units, into: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                item.write(into: &out, sorted: sorted, asciiOnly: asciiOnly)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            let ordered = sorted ? members.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) } : members
            for (i, member) in ordered.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                SimJSON.writeString(member.key, into: &out, asciiOnly: asciiOnly)
                out.append(UInt8(ascii: ":"))
                member.value.write(into: &out, sorted: sorted, asciiOnly: asciiOnly)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// Appends `s` as a JSON string literal: UTF-8, escaping only `"`, `\` and control
    /// characters; with `asciiOnly`, every non-ASCII character as `\uXXXX` too.
    public static func writeString(_ s: String, into out: inout [UInt8], asciiOnly: Bool = false) {
        out.append(UInt8(ascii: "\""))
        if asciiOnly {
            for unit in s.utf16 { writeUnit(unit, into: &out) }
        } else {
            for b in s.utf8 {
                if b < 0x80 { writeASCII(b, into: &out) } else { out.append(b) }
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// Appends UTF-16 code units as a JSON string literal, every non-ASCII unit escaped: a
    /// lone surrogate comes out as its own `\uXXXX`.
    static func writeCodeUnits(_ units: [UInt16], into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for unit in units { writeUnit(unit, into: &out) }
        out.append(UInt8(ascii: "\""))
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    private static func writeUnit(_ unit: UInt16, into out: inout [UInt8]) {
        if unit < 0x80 { return writeASCII(UInt8(unit), into: &out) }
        out.append(contentsOf: [0x5C, UInt8(ascii: "u")])
        let u = Int(unit)
        out.append(contentsOf: [hexDigits[u >> 12], hexDigits[(u >> 8) & 0xF], hexDigits[(u >> 4) & 0xF], hexDigits[u & 0xF]])
    }

    private static func writeASCII(_ b: UInt8, into out: inout [UInt8]) {
        switch b {
        case 0x22: out.append(contentsOf: [0x5C, 0x22])
        case 0x5C: out.append(contentsOf: [0x5C, 0x5C])
        case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
        case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
        case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
        case 0x08: out.append(contentsOf: [0x5C, UInt8(ascii: "b")])
        case 0x0C: out.append(contentsOf: [0x5C, UInt8(ascii: "f")])
        case 0x00..<0x20:
            out.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hexDigits[Int(b >> 4)], hexDigits[Int(b & 0xF)]])
        default: out.append(b)
        }
    }

    /// The canonical spelling of a tool call's arguments string: the canonical JSON when it
    /// parses, else the raw text (product.md §1).
    public static func canonicalArguments(_ arguments: String) -> String {
        guard let value = try? SimJSON.parse(arguments) else { return arguments }
        return String(decoding: value.canonicalBytes, as: UTF8.self)
    }
}
