/// One change to a document's bytes: replace `range` with `replacement` (an insertion is an
/// empty range).
public struct JSONEdit: Sendable, Equatable {
    /// The bytes replaced; empty for an insertion at `range.lowerBound`.
    public var range: Range<Int>
    /// The bytes written in their place.
    public var replacement: [UInt8]

    /// Creates an edit replacing `range` with `replacement`.
    public init(replacing range: Range<Int>, with replacement: [UInt8]) {
        self.range = range
        self.replacement = replacement
    }

    /// An insertion of `bytes` at `offset`.
    public static func insert(_ bytes: [UInt8], at offset: Int) -> JSONEdit {
        JSONEdit(replacing: offset ..< offset, with: bytes)
    }

    /// A replacement of `range` by `bytes`.
    public static func replace(_ range: Range<Int>, with bytes: [UInt8]) -> JSONEdit {
        JSONEdit(replacing: range, with: bytes)
    }

    /// A deletion of `range`.
    public static func delete(_ range: Range<Int>) -> JSONEdit {
        JSONEdit(replacing: range, with: [])
    }
}

/// Edits that cannot be applied: out of the document's bounds, or overlapping.
public struct JSONSpliceError: Error, Equatable, Sendable {
    /// What was wrong.
    public var reason: String
}

/// Applies edits to original bytes in one pass, into one exactly sized allocation.
public enum JSONSplicer {
    /// The document with `edits` applied. Edits are applied in offset order; edits with the
    /// same start keep the order given (so list an insertion before a replacement starting
    /// at the same offset). Edits must not overlap: each one must start at or after the end
    /// of the previous one.
    public static func apply(_ edits: [JSONEdit], to original: UnsafeRawBufferPointer) throws(JSONSpliceError) -> [UInt8] {
        let (order, size) = try plan(edits, originalCount: original.count)
        return [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            initialized = write(edits, order: order, original: original, into: UnsafeMutableRawBufferPointer(buffer))
        }
    }

    /// `apply(_:to:)` into a new allocation the caller owns (and must `deallocate()`), for
    /// bytes that must stay put while C code reads them (curl's POSTFIELDS).
    public static func applyAllocating(_ edits: [JSONEdit], to original: UnsafeRawBufferPointer)
        throws(JSONSpliceError) -> UnsafeMutableRawBufferPointer {
        let (order, size) = try plan(edits, originalCount: original.count)
        let out = UnsafeMutableRawBufferPointer.allocate(byteCount: max(size, 1), alignment: 1)
        let written = write(edits, order: order, original: original, into: out)
        return UnsafeMutableRawBufferPointer(rebasing: out[0 ..< written])
    }

    /// One piece of the edited document, in order: a run of the original bytes, or the
    /// replacement of the edit at an index of the edits given.
    public enum Piece: Equatable, Sendable {
        case original(Range<Int>)
        case replacement(Int)
    }

    /// The edited document as pieces, without copying anything (for a reader that gathers
    /// them: curl's read callback), and its size. Empty pieces are left out.
    public static func pieces(_ edits: [JSONEdit], originalCount: Int) throws(JSONSpliceError) -> (pieces: [Piece], size: Int) {
        let (order, size) = try plan(edits, originalCount: originalCount)
        var pieces: [Piece] = []
        pieces.reserveCapacity(2 * order.count + 1)
        var from = 0
        for k in order {
            let r = edits[k].range
            if r.lowerBound > from { pieces.append(.original(from ..< r.lowerBound)) }
            if !edits[k].replacement.isEmpty { pieces.append(.replacement(k)) }
            from = r.upperBound
        }
        if originalCount > from { pieces.append(.original(from ..< originalCount)) }
        return (pieces, size)
    }

    /// The edits in application order and the size of the result; throws on bad edits.
    private static func plan(_ edits: [JSONEdit], originalCount: Int) throws(JSONSpliceError) -> ([Int], Int) {
        let order = edits.indices.sorted {
            (edits[$0].range.lowerBound, $0) < (edits[$1].range.lowerBound, $1)
        }
        var size = originalCount
        var previousEnd = 0
        for k in order {
            let r = edits[k].range
            guard r.lowerBound >= 0, r.upperBound <= originalCount else {
                throw JSONSpliceError(reason: "edit \(r) outside the document of \(originalCount) bytes")
            }
            guard r.lowerBound >= previousEnd else {
                throw JSONSpliceError(reason: "edit \(r) overlaps the edit ending at \(previousEnd)")
            }
            previousEnd = r.upperBound
            size += edits[k].replacement.count - r.count
        }
        return (order, size)
    }

    /// Writes the spliced document into `out` (at least the planned size); returns its length.
    private static func write(_ edits: [JSONEdit], order: [Int], original: UnsafeRawBufferPointer,
                              into out: UnsafeMutableRawBufferPointer) -> Int {
        guard let base = out.baseAddress else { return 0 }
        var o = 0
        var from = 0
        func copy(_ source: UnsafeRawBufferPointer) {
            guard let s = source.baseAddress, source.count > 0 else { return }
            (base + o).copyMemory(from: s, byteCount: source.count)
            o += source.count
        }
        for k in order {
            let edit = edits[k]
            copy(UnsafeRawBufferPointer(rebasing: original[from ..< edit.range.lowerBound]))
            edit.replacement.withUnsafeBytes { copy($0) }
            from = edit.range.upperBound
        }
        copy(UnsafeRawBufferPointer(rebasing: original[from ..< original.count]))
        return o
    }

    /// Byte-array form of `apply(_:to:)`.
    public static func apply(_ edits: [JSONEdit], to original: [UInt8]) throws(JSONSpliceError) -> [UInt8] {
        try withRawBytes(original) { (raw) throws(JSONSpliceError) in try apply(edits, to: raw) }
    }
}
