extension JSONReader {
    /// Skips the object or array whose opening bracket is at `offset`, validating everything
    /// inside it, with an explicit stack (one bit per level: object or array) instead of
    /// recursion, so a deep document cannot exhaust the thread's stack.
    @usableFromInline
    mutating func skipContainer() throws(JSONSyntaxError) {
        var stack = ContainerBits()
        var state = SkipState.open

        while true {
            switch state {
            case .open:
                // At `{` or `[`.
                if depth + stack.count >= maxDepth { throw error("nesting deeper than \(maxDepth)") }
                let isObject = p[offset] == UInt8(ascii: "{")
                stack.push(isObject)
                offset += 1
                skipWhitespace()
                guard offset < end else { throw unexpected(isObject ? "'}'" : "']'") }
                if p[offset] == (isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) {
                    offset += 1
                    stack.pop()
                    state = .after
                } else {
                    if isObject { _ = try readKeyAndColon() }
                    state = .value
                }

            case .value:
                skipWhitespace()
                guard offset < end else { throw unexpected("a value") }
                switch p[offset] {
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    state = .open
                    continue
                case UInt8(ascii: "\""):
                    _ = try scanString()
                case UInt8(ascii: "-"), UInt8(ascii: "0") ... UInt8(ascii: "9"):
                    try scanNumber()
                case UInt8(ascii: "t"):
                    try scanLiteral("true")
                case UInt8(ascii: "f"):
                    try scanLiteral("false")
                case UInt8(ascii: "n"):
                    try scanLiteral("null")
                default:
                    throw error("unexpected character, expected a value")
                }
                state = .after

            case .after:
                if stack.count == 0 { return }
                skipWhitespace()
                let inObject = stack.top
                guard offset < end else { throw unexpected(inObject ? "',' or '}'" : "',' or ']'") }
                let c = p[offset]
                if c == UInt8(ascii: ",") {
                    offset += 1
                    skipWhitespace()
                    if inObject { _ = try readKeyAndColon() }
                    state = .value
                } else if c == (inObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) {
                    offset += 1
                    stack.pop()
                } else {
                    throw unexpected(inObject ? "',' or '}'" : "',' or ']'")
                }
            }
        }
    }
}

private enum SkipState {
    case open, value, after
}

/// A stack of booleans (object = true), allocation-free for the first 64 levels.
private struct ContainerBits {
    private var low: UInt64 = 0
    private var high: [UInt64] = []
    private(set) var count = 0

    mutating func push(_ isObject: Bool) {
        if count < 64 {
            if isObject { low |= 1 << UInt64(count) } else { low &= ~(1 << UInt64(count)) }
        } else {
            let level = count - 64
            let word = level >> 6
            let bit = UInt64(1) << UInt64(level & 63)
            if word == high.count { high.append(0) }
            if isObject { high[word] |= bit } else { high[word] &= ~bit }
        }
        count += 1
    }

    mutating func pop() { count -= 1 }

    var top: Bool {
        let level = count - 1
        if level < 64 { return low & (1 << UInt64(level)) != 0 }
        let l = level - 64
        return high[l >> 6] & (UInt64(1) << UInt64(l & 63)) != 0
    }
}
