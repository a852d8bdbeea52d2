/// A deliberately simple, byte-at-a-time recursive validator written straight from RFC 8259,
/// used as an oracle for the fast scanner (its eight-byte fast path, its non-recursive skip).
/// String contents are checked for UTF-8 by the standard library.
struct ReferenceValidator {
    let b: [UInt8]
    var i = 0
    let maxDepth: Int

    static func isValid(_ bytes: UnsafeRawBufferPointer, maxDepth: Int = 512) -> Bool {
        var v = ReferenceValidator(b: Array(bytes), maxDepth: maxDepth)
        guard v.value(depth: 0) else { return false }
        v.ws()
        return v.i == v.b.count
    }

    mutating func ws() {
        while i < b.count, [0x20, 0x09, 0x0A, 0x0D].contains(b[i]) { i += 1 }
    }

    mutating func eat(_ c: Character) -> Bool {
        guard i < b.count, b[i] == c.asciiValue! else { return false }
        i += 1
        return true
    }

    mutating func value(depth: Int) -> Bool {
        ws()
        guard i < b.count else { return false }
        switch b[i] {
        case UInt8(ascii: "{"):
            guard depth < maxDepth else { return false }
            i += 1
            ws()
            if eat("}") { return true }
            repeat {
                ws()
                guard string() else { return false }
                ws()
                guard eat(":"), value(depth: depth + 1) else { return false }
                ws()
            } while eat(",")
            return eat("}")
        case UInt8(ascii: "["):
            guard depth < maxDepth else { return false }
            i += 1
            ws()
            if eat("]") { return true }
            repeat {
                guard value(depth: depth + 1) else { return false }
                ws()
            } while eat(",")
            return eat("]")
        case UInt8(ascii: "\""):
            return string()
        case UInt8(ascii: "t"): return literal("true")
        case UInt8(ascii: "f"): return literal("false")
        case UInt8(ascii: "n"): return literal("null")
        default:
            return number()
        }
    }

    mutating func literal(_ s: String) -> Bool {
        for c in s.utf8 {
            guard i < b.count, b[i] == c else { return false }
            i += 1
        }
        return true
    }

    func digit(_ k: Int) -> Bool { k < b.count && b[k] >= 0x30 && b[k] <= 0x39 }

    mutating func number() -> Bool {
        _ = eat("-")
        guard digit(i) else { return false }
        if b[i] == 0x30 { i += 1 } else { while digit(i) { i += 1 } }
        if eat(".") {
            guard digit(i) else { return false }
            while digit(i) { i += 1 }
        }
        if eat("e") || eat("E") {
            if !eat("+") { _ = eat("-") }
            guard digit(i) else { return false }
            while digit(i) { i += 1 }
        }
        return true
    }

    mutating func string() -> Bool {
        guard eat("\"") else { return false }
        var raw: [UInt8] = []
        while i < b.count {
            let c = b[i]
            i += 1
            if c == UInt8(ascii: "\"") { return String(validating: raw, as: UTF8.self) != nil }
            if c < 0x20 { return false }
            if c == UInt8(ascii: "\\") {
                guard i < b.count else { return false }
                let e = b[i]
                i += 1
                if e == UInt8(ascii: "u") {
                    for _ in 0 ..< 4 {
                        guard i < b.count, b[i].isHexDigit else { return false }
                        i += 1
                    }
                } else if !"\"\\/bfnrt".utf8.contains(e) {
                    return false
                }
                raw.append(0x20)
                continue
            }
            raw.append(c)
        }
        return false
    }
}

private extension UInt8 {
    var isHexDigit: Bool {
        (self >= 0x30 && self <= 0x39) || (self >= 0x41 && self <= 0x46) || (self >= 0x61 && self <= 0x66)
    }
}
