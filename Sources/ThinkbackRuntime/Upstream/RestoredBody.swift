import CLibEvent
import ThinkbackCore

/// What a transfer sends upstream: one run of bytes, or pieces gathered by curl's read
/// callback. Neither is copied; both must stay valid until the transfer is done or aborted.
enum UpstreamBody {
    case bytes(UnsafeRawBufferPointer)
    case parts(UnsafeBufferPointer<cle_body_part>, count: Int)

    var count: Int {
        switch self {
        case .bytes(let b): return b.count
        case .parts(_, let count): return count
        }
    }
}

/// The body of a restored request. A small one is spliced into one allocation (curl sends a
/// body under 64 KiB with the headers, in one write). A large one is not copied at all: it
/// stays the client's bytes with the inserted pieces between them, and curl's read callback
/// gathers them straight into its upload buffer — the copy curl makes anyway — instead of a
/// 200 KB history being copied once more first.
final class RestoredBody {
    /// Bodies from this size up are gathered rather than copied.
    static let gatherThreshold = 64 * 1024

    let count: Int
    private let contiguous: UnsafeMutableRawBufferPointer?
    /// The replacements, back to back (the only bytes copied for a gathered body).
    private let inserts: UnsafeMutableRawBufferPointer?
    private let parts: UnsafeMutableBufferPointer<cle_body_part>?

    /// `original` must stay valid as long as this body (it is read in place when gathered).
    init(edits: [JSONEdit], original: UnsafeRawBufferPointer) throws(JSONSpliceError) {
        let (pieces, size) = try JSONSplicer.pieces(edits, originalCount: original.count)
        count = size
        guard size >= Self.gatherThreshold, let base = original.baseAddress else {
            contiguous = try JSONSplicer.applyAllocating(edits, to: original)
            inserts = nil
            parts = nil
            return
        }
        var insertBytes = 0
        for case .replacement(let k) in pieces { insertBytes += edits[k].replacement.count }
        let inserts = UnsafeMutableRawBufferPointer.allocate(byteCount: max(insertBytes, 1), alignment: 1)
        let parts = UnsafeMutableBufferPointer<cle_body_part>.allocate(capacity: max(pieces.count, 1))
        var at = 0
        for (i, piece) in pieces.enumerated() {
            switch piece {
            case .original(let r):
                parts[i] = cle_body_part(data: (base + r.lowerBound).assumingMemoryBound(to: UInt8.self), len: r.count)
            case .replacement(let k):
                let bytes = edits[k].replacement
                let dest = inserts.baseAddress! + at
                bytes.withUnsafeBytes { dest.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
                parts[i] = cle_body_part(data: dest.assumingMemoryBound(to: UInt8.self), len: bytes.count)
                at += bytes.count
            }
        }
        contiguous = nil
        self.inserts = inserts
        self.parts = UnsafeMutableBufferPointer(rebasing: parts[0 ..< pieces.count])
    }

    deinit {
        contiguous?.deallocate()
        inserts?.deallocate()
        parts?.deallocate()
    }

    var upload: UpstreamBody {
        if let parts { return .parts(UnsafeBufferPointer(parts), count: count) }
        return .bytes(UnsafeRawBufferPointer(contiguous!))
    }
}
