extension JSONReader {
    /// Scans a number starting at `offset` (RFC 8259 §6 grammar; any size or precision).
    @usableFromInline
    mutating func scanNumber() throws(JSONSyntaxError) {
        var i = offset
        if p[i] == UInt8(ascii: "-") { i += 1 }
        guard i < end, isDigit(p[i]) else { throw error("invalid number: expected a digit", at: min(i, end)) }
        if p[i] == UInt8(ascii: "0") {
            i += 1
            if i < end, isDigit(p[i]) { throw error("invalid number: leading zero", at: i - 1) }
        } else {
            while i < end, isDigit(p[i]) { i += 1 }
        }
        if i < end, p[i] == UInt8(ascii: ".") {
            i += 1
            guard i < end, isDigit(p[i]) else { throw error("invalid number: expected a digit after '.'", at: min(i, end)) }
            while i < end, isDigit(p[i]) { i += 1 }
        }
        if i < end, p[i] | 0x20 == UInt8(ascii: "e") {
            i += 1
            if i < end, p[i] == UInt8(ascii: "+") || p[i] == UInt8(ascii: "-") { i += 1 }
            guard i < end, isDigit(p[i]) else { throw error("invalid number: expected an exponent digit", at: min(i, end)) }
            while i < end, isDigit(p[i]) { i += 1 }
        }
        offset = i
    }

    @inline(__always)
    func isDigit(_ c: UInt8) -> Bool { c &- UInt8(ascii: "0") < 10 }

    /// Scans the literal `true`, `false` or `null` at `offset`.
    @usableFromInline
    mutating func scanLiteral(_ literal: StaticString) throws(JSONSyntaxError) {
        let n = literal.utf8CodeUnitCount
        let l = literal.utf8Start
        for k in 0 ..< n where offset + k >= end || p[offset + k] != l[k] {
            throw error(offset + k >= end ? "unexpected end of input in literal" : "invalid literal", at: min(offset + k, end))
        }
        offset += n
    }

    /// Parses a number literal as a non-negative `Int` if it is a plain integer that fits.
    public func integerValue(of range: Range<Int>) -> Int? {
        guard !range.isEmpty, range.count <= 18 else { return nil }
        var value = 0
        for i in range {
            let d = p[i] &- UInt8(ascii: "0")
            guard d < 10 else { return nil }
            value = value * 10 + Int(d)
        }
        return value
    }
}
