/// A fast streaming fingerprint for the history digest (`HistoryHasher`): it runs over every
/// byte of every request's messages, where SHA-256 — even with the CPU's SHA extensions, about
/// 1.7 GB/s here — cost more than scanning the request. Four independent lanes in the manner
/// of XXH64 (multiply, rotate, multiply per 8-byte word), each finalised into 64 bits of the
/// 256-bit output after mixing in the others and the length.
///
/// Not a cryptographic hash, and it need not be one: what it fingerprints is a tenant's own
/// conversation, always hashed again with SHA-256 into a cache key (`KeyBuilder.contextKey`),
/// and an accidental collision of two different histories needs a 2^-64 coincidence in a lane
/// on top of equal content. Nobody but the tenant itself chooses the inputs.
struct HistoryHash: Sendable {
    private static let p1: UInt64 = 0x9E37_79B1_85EB_CA87
    private static let p2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    private static let p3: UInt64 = 0x1656_67B1_9E37_79F9
    private static let p4: UInt64 = 0x85EB_CA77_C2B2_AE63
    private static let p5: UInt64 = 0x27D4_EB2F_1656_67C5

    private var a0: UInt64 = 0x243F_6A88_85A3_08D3 &+ p1 &+ p2
    private var a1: UInt64 = 0x1319_8A2E_0370_7344 &+ p2
    private var a2: UInt64 = 0xA409_3822_299F_31D0
    private var a3: UInt64 = 0x082E_FA98_EC4E_6C89 &- p1
    /// Bytes not yet forming a whole 32-byte stripe.
    private var pending: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    private var pendingCount = 0
    private var length: UInt64 = 0

    @inline(__always)
    private static func round(_ acc: UInt64, _ input: UInt64) -> UInt64 {
        var a = acc &+ input &* p2
        a = (a << 31) | (a >> 33)
        return a &* p1
    }

    @inline(__always)
    private static func avalanche(_ h: UInt64) -> UInt64 {
        var x = h
        x ^= x >> 33
        x = x &* p2
        x ^= x >> 29
        x = x &* p3
        x ^= x >> 32
        return x
    }

    @inline(__always)
    private mutating func stripe(_ w0: UInt64, _ w1: UInt64, _ w2: UInt64, _ w3: UInt64) {
        a0 = Self.round(a0, w0)
        a1 = Self.round(a1, w1)
        a2 = Self.round(a2, w2)
        a3 = Self.round(a3, w3)
    }

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        length &+= UInt64(bytes.count)
        var i = 0
        let n = bytes.count
        if pendingCount > 0 {
            withUnsafeMutableBytes(of: &pending) { buffer in
                let take = min(32 - pendingCount, n)
                buffer.baseAddress!.advanced(by: pendingCount).copyMemory(from: base, byteCount: take)
                pendingCount += take
                i = take
            }
            guard pendingCount == 32 else { return }
            stripe(UInt64(littleEndian: pending.0), UInt64(littleEndian: pending.1),
                   UInt64(littleEndian: pending.2), UInt64(littleEndian: pending.3))
            pendingCount = 0
        }
        while n - i >= 32 {
            let p = base + i
            stripe(UInt64(littleEndian: p.loadUnaligned(as: UInt64.self)),
                   UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 8, as: UInt64.self)),
                   UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 16, as: UInt64.self)),
                   UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 24, as: UInt64.self)))
            i += 32
        }
        if i < n {
            pending = (0, 0, 0, 0)
            withUnsafeMutableBytes(of: &pending) { $0.baseAddress!.copyMemory(from: base + i, byteCount: n - i) }
            pendingCount = n - i
        }
    }

    mutating func update<Bytes: Collection>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        if let done: Void = bytes.withContiguousStorageIfAvailable({ update(UnsafeRawBufferPointer($0)) }) { return done }
        Array(bytes).withUnsafeBytes { update($0) }
    }

    /// The fingerprint of everything so far, as 32 bytes (the hasher can go on).
    func finalize() -> SHA256Digest {
        var b0 = a0, b1 = a1, b2 = a2, b3 = a3
        if pendingCount > 0 {
            // The partial stripe, zero-padded; its length is in `length`.
            b0 = Self.round(b0, UInt64(littleEndian: pending.0) ^ Self.p5)
            b1 = Self.round(b1, UInt64(littleEndian: pending.1) ^ Self.p5)
            b2 = Self.round(b2, UInt64(littleEndian: pending.2) ^ Self.p5)
            b3 = Self.round(b3, UInt64(littleEndian: pending.3) ^ Self.p5)
        }
        var merged = ((b0 << 1) | (b0 >> 63)) &+ ((b1 << 7) | (b1 >> 57)) &+ ((b2 << 12) | (b2 >> 52)) &+ ((b3 << 18) | (b3 >> 46))
        merged = (merged ^ Self.round(0, b0)) &* Self.p1 &+ Self.p4
        merged = (merged ^ Self.round(0, b1)) &* Self.p1 &+ Self.p4
        merged = (merged ^ Self.round(0, b2)) &* Self.p1 &+ Self.p4
        merged = (merged ^ Self.round(0, b3)) &* Self.p1 &+ Self.p4
        merged &+= length
        // Straight into the digest's storage: no allocation per assistant message.
        return SHA256Digest(storage: (Self.avalanche(merged ^ b0 &* Self.p3).littleEndian,
                                      Self.avalanche(merged &+ b1 &* Self.p4 ^ Self.p1).littleEndian,
                                      Self.avalanche(merged ^ b2 &* Self.p5 &+ Self.p2).littleEndian,
                                      Self.avalanche(merged &+ b3 &* Self.p2 ^ Self.p3).littleEndian))
    }
}
