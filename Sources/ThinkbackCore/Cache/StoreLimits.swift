/// The bounds every store keeps (product.md §5).
public struct StoreLimits: Hashable, Sendable {
    /// The most values kept at once (one value may sit under several keys).
    public var maxEntries: Int
    /// The most bytes kept, as counted by `StoredReasoning.accountedBytes(keyCount:)`.
    public var maxBytes: Int
    /// How long a value is served after `StoredReasoning.storedAtMilliseconds`.
    public var timeToLiveMilliseconds: UInt64

    /// Seven days, in milliseconds: the default time-to-live (product.md §7).
    public static let sevenDaysMilliseconds: UInt64 = 7 * 24 * 60 * 60 * 1000

    /// Limits; the defaults are the in-memory tier's (product.md §7: 256 MiB, 7 days).
    public init(
        maxEntries: Int = 1_000_000,
        maxBytes: Int = 256 << 20,
        timeToLiveMilliseconds: UInt64 = StoreLimits.sevenDaysMilliseconds
    ) {
        precondition(maxEntries > 0 && maxBytes > 0 && timeToLiveMilliseconds > 0, "store limits must be positive")
        self.maxEntries = maxEntries
        self.maxBytes = maxBytes
        self.timeToLiveMilliseconds = timeToLiveMilliseconds
    }
}
