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
        let order = edits.indices.sorted {
            (edits[$0].range.lowerBound, $0) < (edits[$1].range.lowerBound, $1)
        }
        var size = original.count
        var previousEnd = 0
        for k in order {
            let r = edits[k].range
            guard r.lowerBound >= 0, r.upperBound <= original.count else {
                throw JSONSpliceError(reason: "edit \(r) outside the document of \(original.count) bytes")
            }
            guard r.lowerBound >= previousEnd else {
                throw JSONSpliceError(reason: "edit \(r) overlaps the edit ending at \(previousEnd)")
            }
            previousEnd = r.upperBound
            size += edits[k].replacement.count - r.count
        }
        return [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            guard let out = buffer.baseAddress else { initialized = 0; return }
            var o = 0
            var from = 0
            func copy(_ source: UnsafeRawBufferPointer) {
                guard let s = source.baseAddress, source.count > 0 else { return }
                UnsafeMutableRawPointer(out + o).copyMemory(from: s, byteCount: source.count)
                o += source.count
            }
            for k in order {
                let edit = edits[k]
                copy(UnsafeRawBufferPointer(rebasing: original[from ..< edit.range.lowerBound]))
                edit.replacement.withUnsafeBytes { copy($0) }
                from = edit.range.upperBound
            }
            copy(UnsafeRawBufferPointer(rebasing: original[from ..< original.count]))
            initialized = o
        }
    }

    /// Byte-array form of `apply(_:to:)`.
    public static func apply(_ edits: [JSONEdit], to original: [UInt8]) throws(JSONSpliceError) -> [UInt8] {
        try withRawBytes(original) { (raw) throws(JSONSpliceError) in try apply(edits, to: raw) }
    }
}
