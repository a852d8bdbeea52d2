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
        // One walk validates and writes; any syntax error (or trailing data) gives the raw
        // text back, as `JSONValidator` would have refused it.
        var output: [UInt8] = []
        output.reserveCapacity(text.count)
        var reader = JSONReader(text, maxDepth: maxDepth)
        do {
            try write(&reader, to: &output)
            try reader.finish()
        } catch {
            return Array(text)
        }
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
        /// For objects: where this object's members start in the shared member list.
        var firstMember: Int
        /// The key of the member being read, and where its `"key":value` starts in the output.
        var pendingKey = JSONStringSpan(content: 0 ..< 0, hasEscapes: false)
        var memberStart = 0
        var count = 0
        /// Whether the keys so far are strictly increasing (nothing to reorder).
        var sorted = true
    }

    /// One member of an open object: its key (a span of the input) and its `"key":value`
    /// range in the output.
    private typealias Member = (key: JSONStringSpan, written: Range<Int>)

    /// Consumes one value from `reader` (validating it) and appends its canonical form.
    /// Object members are written in document order, then reordered if needed (one copy of
    /// the object's output), so each input byte is scanned once. The walk keeps its own stack
    /// rather than recursing, so nesting depth never threatens the thread's stack; the members
    /// of all open objects share one list (an object's members are dropped when it closes,
    /// before its parent records it).
    private static func write(_ reader: inout JSONReader, to output: inout [UInt8]) throws(JSONSyntaxError) {
        let text = reader.bytes
        var stack: [Frame] = []
        stack.reserveCapacity(4)
        var members: [Member] = []
        members.reserveCapacity(8)
        var expectValue = true
        while true {
            if expectValue {
                switch try reader.peekKind() {
                case .object:
                    try reader.beginObject()
                    output.append(UInt8(ascii: "{"))
                    stack.append(Frame(isObject: true, regionStart: output.count, firstMember: members.count))
                case .array:
                    try reader.beginArray()
                    output.append(UInt8(ascii: "["))
                    stack.append(Frame(isObject: false, regionStart: output.count, firstMember: members.count))
                case .string:
                    let span = try reader.readString()
                    appendString(span, text, &output)
                    guard finishValue(&stack, &members, output.count, text) else { return }
                case .number, .bool, .null:
                    let value = try reader.skipValue()
                    output.append(contentsOf: UnsafeRawBufferPointer(rebasing: text[value.range]))
                    guard finishValue(&stack, &members, output.count, text) else { return }
                }
                expectValue = false
            }
            // Inside the innermost open container: the next member or element, or its end.
            let top = stack.count - 1
            if stack[top].isObject {
                if let key = try reader.nextKey() {
                    if stack[top].count > 0 { output.append(UInt8(ascii: ",")) }
                    stack[top].count += 1
                    stack[top].memberStart = output.count
                    appendString(key, text, &output)
                    output.append(UInt8(ascii: ":"))
                    stack[top].pendingKey = key
                    expectValue = true
                } else {
                    let frame = stack.removeLast()
                    if !frame.sorted { reorder(frame, members[frame.firstMember...], text, &output) }
                    members.removeSubrange(frame.firstMember...)
                    output.append(UInt8(ascii: "}"))
                    guard finishValue(&stack, &members, output.count, text) else { return }
                }
            } else {
                if try reader.nextElement() {
                    if stack[top].count > 0 { output.append(UInt8(ascii: ",")) }
                    stack[top].count += 1
                    expectValue = true
                } else {
                    stack.removeLast()
                    output.append(UInt8(ascii: "]"))
                    guard finishValue(&stack, &members, output.count, text) else { return }
                }
            }
        }
    }

    /// Appends a string (a value or a key) in canonical form.
    @inline(__always)
    private static func appendString(_ span: JSONStringSpan, _ text: UnsafeRawBufferPointer, _ output: inout [UInt8]) {
        if span.hasEscapes {
            span.decodedBytes(in: text).withUnsafeBytes { JSONStringEncoder.append($0, to: &output) }
        } else {
            // Unescaped contents of a valid string are already in canonical form.
            output.append(contentsOf: UnsafeRawBufferPointer(rebasing: text[span.quotedRange]))
        }
    }

    /// Records a completed value in its enclosing object; `false` when it was the top level.
    private static func finishValue(_ stack: inout [Frame], _ members: inout [Member], _ end: Int,
                                    _ text: UnsafeRawBufferPointer) -> Bool {
        guard let top = stack.indices.last else { return false }
        if stack[top].isObject {
            let key = stack[top].pendingKey
            if stack[top].sorted, members.count > stack[top].firstMember,
               !keyPrecedes(members[members.count - 1].key, key, text) {
                stack[top].sorted = false
            }
            members.append((key, stack[top].memberStart ..< end))
        }
        return true
    }

    /// Whether decoded key `a` sorts strictly before decoded key `b` (code point order).
    private static func keyPrecedes(_ a: JSONStringSpan, _ b: JSONStringSpan, _ text: UnsafeRawBufferPointer) -> Bool {
        compareKeys(a, b, text) < 0
    }

    /// The order of two decoded keys (code point order = UTF-8 byte order): <0, 0 or >0.
    private static func compareKeys(_ a: JSONStringSpan, _ b: JSONStringSpan, _ text: UnsafeRawBufferPointer) -> Int {
        if !a.hasEscapes && !b.hasEscapes {
            return compareBytes(UnsafeRawBufferPointer(rebasing: text[a.content]), UnsafeRawBufferPointer(rebasing: text[b.content]))
        }
        let x = a.decodedBytes(in: text), y = b.decodedBytes(in: text)
        return x.withUnsafeBytes { x in y.withUnsafeBytes { y in compareBytes(x, y) } }
    }

    private static func compareBytes(_ x: UnsafeRawBufferPointer, _ y: UnsafeRawBufferPointer) -> Int {
        for k in 0 ..< min(x.count, y.count) where x[k] != y[k] { return Int(x[k]) - Int(y[k]) }
        return x.count - y.count
    }

    /// Sorts a closed object's members by key (code point order), keeping the last of
    /// duplicate keys. Works in temporary (stack) buffers.
    private static func reorder(_ frame: Frame, _ members: ArraySlice<Member>, _ text: UnsafeRawBufferPointer,
                                _ output: inout [UInt8]) {
        let regionStart = frame.regionStart
        let regionCount = output.count - regionStart
        withUnsafeTemporaryAllocation(of: Int.self, capacity: members.count) { buffer in
            var order = buffer
            for k in 0 ..< members.count { order[k] = members.startIndex + k }
            // Stable among equal keys (by position), so the last duplicate can be kept.
            order.sort { a, b in
                let c = compareKeys(members[a].key, members[b].key, text)
                return c != 0 ? c < 0 : a < b
            }
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: regionCount) { region in
                output.withUnsafeBufferPointer { out in
                    _ = region.initialize(from: UnsafeBufferPointer(rebasing: out[regionStart...]))
                }
                output.removeSubrange(regionStart...)
                var first = true
                for n in 0 ..< members.count {
                    let k = order[n]
                    if n + 1 < members.count, compareKeys(members[order[n + 1]].key, members[k].key, text) == 0 { continue }
                    if !first { output.append(UInt8(ascii: ",")) }
                    first = false
                    let r = members[k].written
                    output.append(contentsOf: UnsafeBufferPointer(rebasing: region[(r.lowerBound - regionStart) ..< (r.upperBound - regionStart)]))
                }
            }
        }
    }
}
