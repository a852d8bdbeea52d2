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

    /// One open container during the walk.
    private struct Frame {
        var isObject: Bool
        /// Where this container's members start in the output (after its bracket).
        var regionStart: Int
        /// For objects: each member as written, its decoded key and its `"key":value` range.
        var members: [(key: [UInt8], written: Range<Int>)] = []
        var pendingKey: [UInt8] = []
        var memberStart = 0
        var count = 0
    }

    /// Consumes one (valid) value from `reader` and appends its canonical form. Object
    /// members are written in document order, then reordered if needed (one copy of the
    /// object's output), so each input byte is scanned once. The walk keeps its own stack
    /// rather than recursing, so nesting depth never threatens the thread's stack.
    private static func write(_ reader: inout JSONReader, to output: inout [UInt8]) throws(JSONSyntaxError) {
        let text = reader.bytes
        var stack: [Frame] = []
        var expectValue = true
        while true {
            if expectValue {
                switch try reader.peekKind() {
                case .object:
                    try reader.beginObject()
                    output.append(UInt8(ascii: "{"))
                    stack.append(Frame(isObject: true, regionStart: output.count))
                case .array:
                    try reader.beginArray()
                    output.append(UInt8(ascii: "["))
                    stack.append(Frame(isObject: false, regionStart: output.count))
                case .string:
                    let span = try reader.readString()
                    if span.hasEscapes {
                        span.decodedBytes(in: text).withUnsafeBytes { JSONStringEncoder.append($0, to: &output) }
                    } else {
                        // Unescaped contents are already in canonical form.
                        output.append(contentsOf: UnsafeRawBufferPointer(rebasing: text[span.quotedRange]))
                    }
                    guard try finishValue(&stack, output.count) else { return }
                case .number, .bool, .null:
                    let value = try reader.skipValue()
                    output.append(contentsOf: UnsafeRawBufferPointer(rebasing: text[value.range]))
                    guard try finishValue(&stack, output.count) else { return }
                }
                expectValue = false
            }
            // Inside the innermost open container: the next member or element, or its end.
            let top = stack.count - 1
            if stack[top].isObject {
                if let key = try reader.nextKey() {
                    if stack[top].count > 0 { output.append(UInt8(ascii: ",")) }
                    stack[top].count += 1
                    let decoded = key.decodedBytes(in: text)
                    stack[top].memberStart = output.count
                    decoded.withUnsafeBytes { JSONStringEncoder.append($0, to: &output) }
                    output.append(UInt8(ascii: ":"))
                    stack[top].pendingKey = decoded
                    expectValue = true
                } else {
                    let frame = stack.removeLast()
                    reorder(frame, &output)
                    output.append(UInt8(ascii: "}"))
                    guard try finishValue(&stack, output.count) else { return }
                }
            } else {
                if try reader.nextElement() {
                    if stack[top].count > 0 { output.append(UInt8(ascii: ",")) }
                    stack[top].count += 1
                    expectValue = true
                } else {
                    stack.removeLast()
                    output.append(UInt8(ascii: "]"))
                    guard try finishValue(&stack, output.count) else { return }
                }
            }
        }
    }

    /// Records a completed value in its enclosing object; `false` when it was the top level.
    private static func finishValue(_ stack: inout [Frame], _ end: Int) throws(JSONSyntaxError) -> Bool {
        guard let top = stack.indices.last else { return false }
        if stack[top].isObject {
            stack[top].members.append((stack[top].pendingKey, stack[top].memberStart ..< end))
        }
        return true
    }

    /// Sorts a closed object's members by key (code point order), keeping the last of
    /// duplicate keys.
    private static func reorder(_ frame: Frame, _ output: inout [UInt8]) {
        let members = frame.members
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
        guard kept != Array(members.indices) else { return }
        let regionStart = frame.regionStart
        let region = Array(output[regionStart...])
        output.removeSubrange(regionStart...)
        for (n, k) in kept.enumerated() {
            if n > 0 { output.append(UInt8(ascii: ",")) }
            let r = members[k].written
            output.append(contentsOf: region[(r.lowerBound - regionStart) ..< (r.upperBound - regionStart)])
        }
    }
}
