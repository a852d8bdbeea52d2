import ThinkbackSimCore

/// The generator property tests and generated data use, so failures reproduce: the
/// simulator's SplitMix64 (same seed, same sequence on every platform).
public typealias SeededGenerator = SplitMix64
