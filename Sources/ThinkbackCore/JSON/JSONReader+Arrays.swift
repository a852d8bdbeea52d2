extension JSONReader {
    /// Reads an array whose elements ought to be objects (a request's tool calls, an Anthropic
    /// message's blocks): `object` reads each object element, called at its first byte (its
    /// offset given); `other` makes the element for any other value, from its span (a scan
    /// keeps every element, so that edits can still address it).
    mutating func readObjects<T>(_ object: (Int, inout JSONReader) throws -> T, other: (Range<Int>) -> T) throws -> [T] {
        var out: [T] = []
        try beginArray()
        while try nextElement() {
            let start = offset
            if try peekKind() == .object {
                out.append(try object(start, &self))
            } else {
                out.append(other(try skipValue().range))
            }
        }
        return out
    }
}
