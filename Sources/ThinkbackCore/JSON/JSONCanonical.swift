/// The canonical form of a tool call's `arguments` text (product.md §1), used in content keys.
///
/// If the text is one valid JSON document, the result is that value re-written with: object
/// keys sorted by Unicode code point (UTF-8 byte order is code point order), no whitespace,
/// strings written as their decoded UTF-8 value escaping only `"`, `\` and control
/// characters (as `JSONStringEncoder` does), numbers as their literal text (`1.0` and `1` stay
/// different), `true`/`false`/`null`. Duplicate keys keep the last value, as most parsers
/// read them. Unpaired surrogate escapes decode to U+FFFD. Otherwise the result is the raw
/// text unchanged.
public enum JSONCanonical {
    /// The canonical form of `text`.
    public static func canonicalArguments(_ text: UnsafeRawBufferPointer,
                                          maxDepth: Int = JSONReader.defaultMaxDepth) -> [UInt8] {
        guard let top = try? JSONValidator.validate(text, maxDepth: maxDepth) else { return Array(text) }
        var output: [UInt8] = []
        output.reserveCapacity(text.count)
        var reader = JSONReader(text, offset: top.range.lowerBound, maxDepth: .max)
        // The document is valid, so the walk below cannot fail.
        try? write(&reader, to: &output)
        return output
    }

    /// The canonical form of `text`.
    public static func canonicalArguments(_ text: [UInt8]) -> [UInt8] {
        text.withUnsafeBytes { canonicalArguments($0) }
    }

    /// Consumes one (valid) value from `reader` and appends its canonical form. Object
    /// members are written in document order, then reordered if needed (one copy of the
    /// object's output), so each input byte is scanned once.
    private static func write(_ reader: inout JSONReader, to output: inout [UInt8]) throws(JSONSyntaxError) {
        let text = reader.bytes
        switch try reader.peekKind() {
        case .object:
            try reader.beginObject()
            output.append(UInt8(ascii: "{"))
            let regionStart = output.count
            // Each member as written: its decoded key and the range of `"key":value` in output.
            var members: [(key: [UInt8], written: Range<Int>)] = []
            while let key = try reader.nextKey() {
                let decoded = key.decodedBytes(in: text)
                if !members.isEmpty { output.append(UInt8(ascii: ",")) }
                let start = output.count
                decoded.withUnsafeBytes { JSONStringEncoder.append($0, to: &output) }
                output.append(UInt8(ascii: ":"))
                try write(&reader, to: &output)
                members.append((decoded, start ..< output.count))
            }
            // Stable among equal keys (by position), so the last duplicate can be kept.
            let order = members.indices.sorted { a, b in
                if members[a].key == members[b].key { return a < b }
                return members[a].key.lexicographicallyPrecedes(members[b].key)
            }
            var kept: [Int] = []
            kept.reserveCapacity(order.count)
            for (n, k) in order.enumerated() where n + 1 == order.count || members[order[n + 1]].key != members[k].key {
                kept.append(k)
            }
            if kept != Array(members.indices) {
                let region = Array(output[regionStart...])
                output.removeSubrange(regionStart...)
                for (n, k) in kept.enumerated() {
                    if n > 0 { output.append(UInt8(ascii: ",")) }
                    let r = members[k].written
                    output.append(contentsOf: region[(r.lowerBound - regionStart) ..< (r.upperBound - regionStart)])
                }
            }
            output.append(UInt8(ascii: "}"))
        case .array:
            try reader.beginArray()
            output.append(UInt8(ascii: "["))
            var first = true
            while try reader.nextElement() {
                if !first { output.append(UInt8(ascii: ",")) }
                first = false
                try write(&reader, to: &output)
            }
            output.append(UInt8(ascii: "]"))
        case .string:
            let span = try reader.readString()
            if span.hasEscapes {
                span.decodedBytes(in: text).withUnsafeBytes { JSONStringEncoder.append($0, to: &output) }
            } else {
                // Unescaped contents are already in canonical form.
                output.append(contentsOf: UnsafeRawBufferPointer(rebasing: text[span.quotedRange]))
            }
        case .number, .bool, .null:
            let value = try reader.skipValue()
            output.append(contentsOf: UnsafeRawBufferPointer(rebasing: text[value.range]))
        }
    }
}
