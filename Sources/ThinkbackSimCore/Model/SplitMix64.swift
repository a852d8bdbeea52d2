/// The SplitMix64 generator (Steele, Lea, Flood 2014): small, fast, and the same sequence on
/// every platform, which is all the scripted model needs.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// A generator starting from `seed`.
    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A value in `0..<bound` (bound > 0).
    public mutating func below(_ bound: Int) -> Int {
        Int(next() % UInt64(bound))
    }

    /// `count` lowercase hex digits.
    public mutating func hex(_ count: Int) -> String {
        let digits = Array("0123456789abcdef")
        var s = ""
        s.reserveCapacity(count)
        for _ in 0..<count { s.append(digits[below(16)]) }
        return s
    }

    /// `count` characters from `[A-Za-z0-9]`.
    public mutating func alphanumeric(_ count: Int) -> String {
        let chars = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        var s = ""
        for _ in 0..<count { s.append(chars[below(chars.count)]) }
        return s
    }
}

/// FNV-1a, 64 bits: a stable fingerprint of bytes (Swift's `Hasher` is seeded per process).
public struct FNV1a64: Sendable {
    /// The hash so far.
    public private(set) var value: UInt64 = 0xCBF2_9CE4_8422_2325

    /// An empty hash.
    public init() {}

    /// Mixes `bytes` in.
    public mutating func combine<S: Sequence>(_ bytes: S) where S.Element == UInt8 {
        for b in bytes {
            value ^= UInt64(b)
            value = value &* 0x0000_0100_0000_01B3
        }
    }

    /// Mixes a string's UTF-8 and a separator in.
    public mutating func combine(_ s: String) {
        combine(s.utf8)
        combine(CollectionOfOne(0xFF))
    }
}
