/// SHA-256 (FIPS 180-4), incremental.
///
/// A value type with no heap storage: copying it forks the computation, which is how
/// `HMACSHA256` reuses a keyed state. Feed bytes with `update`, read the digest with
/// `finalize()` (which leaves the hasher usable for more input).
public struct SHA256: Sendable {
    /// The block size in bytes.
    public static let blockByteCount = 64

    struct State {
        var h0: UInt32 = 0x6a09_e667, h1: UInt32 = 0xbb67_ae85
        var h2: UInt32 = 0x3c6e_f372, h3: UInt32 = 0xa54f_f53a
        var h4: UInt32 = 0x510e_527f, h5: UInt32 = 0x9b05_688c
        var h6: UInt32 = 0x1f83_d9ab, h7: UInt32 = 0x5be0_cd19
    }

    private var state = State()
    // The pending partial block; only the first `bufferCount` bytes are meaningful.
    private var buffer: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) =
        (0, 0, 0, 0, 0, 0, 0, 0)
    private var bufferCount = 0
    private var totalByteCount: UInt64 = 0

    /// A hasher with no input yet.
    public init() {}

    /// Adds `bytes` to the message.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard var input = bytes.baseAddress, bytes.count > 0 else { return }
        var remaining = bytes.count
        totalByteCount &+= UInt64(remaining)

        if bufferCount > 0 {
            let take = min(Self.blockByteCount - bufferCount, remaining)
            let offset = bufferCount
            withUnsafeMutableBytes(of: &buffer) { block in
                (block.baseAddress! + offset).copyMemory(from: input, byteCount: take)
            }
            bufferCount += take
            input += take
            remaining -= take
            guard bufferCount == Self.blockByteCount else { return }
            withUnsafeBytes(of: &buffer) { block in
                Self.compress(&state, block.baseAddress!, blockCount: 1)
            }
            bufferCount = 0
        }

        let blocks = remaining / Self.blockByteCount
        if blocks > 0 {
            Self.compress(&state, input, blockCount: blocks)
            input += blocks * Self.blockByteCount
            remaining -= blocks * Self.blockByteCount
        }

        if remaining > 0 {
            withUnsafeMutableBytes(of: &buffer) { block in
                block.baseAddress!.copyMemory(from: input, byteCount: remaining)
            }
            bufferCount = remaining
        }
    }

    /// Adds `bytes` to the message (contiguous collections are hashed in place).
    @inlinable
    public mutating func update<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        let done: Void? = bytes.withContiguousStorageIfAvailable { buffer in
            update(UnsafeRawBufferPointer(buffer))
        }
        if done == nil {
            Array(bytes).withUnsafeBytes { update($0) }
        }
    }

    /// The digest of everything added so far. The hasher itself is unchanged.
    public func finalize() -> SHA256Digest {
        var copy = self
        let bitLength = totalByteCount &* 8
        // 0x80, zeros up to 56 mod 64, then the message length in bits, big-endian.
        let padCount = bufferCount < 56 ? 56 - bufferCount : 120 - bufferCount
        var padding: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                      UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &padding) { pad in
            pad[0] = 0x80
            pad.storeBytes(of: bitLength.bigEndian, toByteOffset: padCount, as: UInt64.self)
            copy.update(UnsafeRawBufferPointer(rebasing: pad[0..<(padCount + 8)]))
        }
        precondition(copy.bufferCount == 0)
        let s = copy.state
        return SHA256Digest(storage: (
            (UInt64(s.h0) << 32 | UInt64(s.h1)).bigEndian,
            (UInt64(s.h2) << 32 | UInt64(s.h3)).bigEndian,
            (UInt64(s.h4) << 32 | UInt64(s.h5)).bigEndian,
            (UInt64(s.h6) << 32 | UInt64(s.h7)).bigEndian
        ))
    }

    /// The digest of `bytes`.
    public static func hash(_ bytes: UnsafeRawBufferPointer) -> SHA256Digest {
        var hasher = SHA256()
        hasher.update(bytes)
        return hasher.finalize()
    }

    /// The digest of `bytes`.
    @inlinable
    public static func hash<Bytes: Sequence>(_ bytes: Bytes) -> SHA256Digest where Bytes.Element == UInt8 {
        var hasher = SHA256()
        hasher.update(bytes)
        return hasher.finalize()
    }
}
