/// A compact set of 32-bit key fingerprints: which keys a store's file may hold.
///
/// `contains` never answers false for a fingerprint that was inserted (no false negatives),
/// and answers true for one that was not with probability `count / 2^32` (two keys whose
/// fingerprints agree: ~0.02% with a million keys). The SQLite store asks it before asking
/// the file, so that a key the file cannot hold costs no SQLite lookup.
///
/// Open addressing with linear probing over one array of `UInt32` slots (0: empty). A
/// fingerprint's home slot is its top `log2(capacity)` bits, so the table doubles from the
/// fingerprints alone, without the keys. It never removes: keys a file dropped stay until the
/// owner builds a new set. At most 3/4 full, so each fingerprint takes 4 / load bytes: 5.3
/// right before the table doubles, 10.7 right after (8 on average). Pure; no I/O.
public struct KeyFingerprintSet: Sendable {
    private var slots: [UInt32]
    private var shift: UInt32
    /// Fingerprints held.
    public private(set) var count = 0

    /// An empty set with room for `minimumCount` fingerprints before it grows.
    public init(minimumCount: Int = 0) {
        var capacity = 1024
        while capacity / 4 * 3 < minimumCount { capacity *= 2 }
        slots = [UInt32](repeating: 0, count: capacity)
        shift = UInt32(32 - capacity.trailingZeroBitCount)
    }

    /// Slots in the table.
    public var capacity: Int { slots.count }

    /// The memory the table takes.
    public var bytes: Int { slots.count * MemoryLayout<UInt32>.stride }

    /// Whether `fingerprint` may have been inserted.
    public func contains(_ fingerprint: UInt32) -> Bool {
        let fingerprint = Self.stored(fingerprint)
        return slots.withUnsafeBufferPointer { table in
            let mask = table.count - 1
            var i = Int(fingerprint >> shift)
            while true {
                let slot = table[i]
                if slot == fingerprint { return true }
                if slot == 0 { return false }
                i = (i + 1) & mask
            }
        }
    }

    /// Adds `fingerprint`; false if it was there already.
    @discardableResult
    public mutating func insert(_ fingerprint: UInt32) -> Bool {
        if (count + 1) * 4 > slots.count * 3 { grow() }
        let fingerprint = Self.stored(fingerprint)
        let inserted = Self.place(fingerprint, in: &slots, shift: shift)
        if inserted { count += 1 }
        return inserted
    }

    /// 0 marks an empty slot: the fingerprint 0 is kept as 1 (they share a slot).
    private static func stored(_ fingerprint: UInt32) -> UInt32 { fingerprint == 0 ? 1 : fingerprint }

    private static func place(_ fingerprint: UInt32, in slots: inout [UInt32], shift: UInt32) -> Bool {
        slots.withUnsafeMutableBufferPointer { table in
            let mask = table.count - 1
            var i = Int(fingerprint >> shift)
            while true {
                let slot = table[i]
                if slot == fingerprint { return false }
                if slot == 0 {
                    table[i] = fingerprint
                    return true
                }
                i = (i + 1) & mask
            }
        }
    }

    /// Doubles the table: each fingerprint's new home is its next bit down.
    private mutating func grow() {
        var larger = [UInt32](repeating: 0, count: slots.count * 2)
        let largerShift = shift - 1
        for fingerprint in slots where fingerprint != 0 {
            _ = Self.place(fingerprint, in: &larger, shift: largerShift)
        }
        slots = larger
        shift = largerShift
    }
}

extension CacheKey {
    /// A 32-bit fingerprint of the key for `KeyFingerprintSet`: the same as
    /// `CacheKey.fingerprint(spelling:)` of its `bytes`.
    public var fingerprint: UInt32 {
        Self.fingerprint(tenant: tenant.prefix64, kind: kind.rawValue, digest: digest.prefix64)
    }

    /// The fingerprint of a key from its 49-byte spelling (`bytes`), as a store reads it back,
    /// without making the key.
    public static func fingerprint(spelling: UnsafeRawBufferPointer) -> UInt32 {
        precondition(spelling.count == byteCount)
        return fingerprint(tenant: spelling.loadUnaligned(fromByteOffset: 0, as: UInt64.self),
                           kind: spelling[TenantID.byteCount],
                           digest: spelling.loadUnaligned(fromByteOffset: TenantID.byteCount + 1, as: UInt64.self))
    }

    /// The digest's first 8 bytes are uniform already (SHA-256); the tenant and kind are mixed
    /// in (a digest may repeat under another tenant or kind), then the top 32 bits kept.
    private static func fingerprint(tenant: UInt64, kind: UInt8, digest: UInt64) -> UInt32 {
        var x = digest ^ (tenant &* 0x9E37_79B9_7F4A_7C15) ^ (UInt64(kind) &* 0xC2B2_AE3D_27D4_EB4F)
        // The finaliser of SplitMix64 / MurmurHash3.
        x = (x ^ (x >> 30)) &* 0xBF58_476D_1CE4_E5B9
        x = (x ^ (x >> 27)) &* 0x94D0_49BB_1331_11EB
        x ^= x >> 31
        return UInt32(truncatingIfNeeded: x >> 32)
    }
}
