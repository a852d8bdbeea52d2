/// A store's counters, for the status page and `/metrics`.
///
/// `hits` and `misses` count keys looked up, not messages: a message tried by two ids and a
/// content key may count a miss and then a hit. Per-message hit rates belong to the caller.
public struct StoreStatistics: Hashable, Sendable {
    /// Values currently stored.
    public var entries = 0
    /// Keys currently pointing at a value.
    public var keys = 0
    /// Bytes currently accounted (`StoredReasoning.accountedBytes(keyCount:)`).
    public var bytes = 0
    /// Keys looked up and found.
    public var hits = 0
    /// Keys looked up and not found (including found but expired).
    public var misses = 0
    /// Values dropped to stay within the entry or byte bound.
    public var evictions = 0
    /// Values dropped because their time-to-live ran out.
    public var expirations = 0
    /// Keys that two different captures claimed and that now answer the ambiguity marker
    /// (`StoredReasoning.isAmbiguous`) until it expires.
    public var ambiguous = 0
    /// Values not stored because they alone exceed the byte bound.
    public var rejections = 0
    /// Operations the store could not carry out (a failed SQLite transaction, a Redis command
    /// that got an error or no answer in time). The hot tier keeps serving meanwhile.
    public var failures = 0
    /// Whether the store is failing right now and requests run on the hot tier alone
    /// (product.md §5: degraded to memory). Cleared by the next success.
    public var degraded = false
    /// When `entries`, `keys` and `bytes` were last taken from (or written to) the store itself,
    /// on the system's monotonic clock in nanoseconds (0: never; a store of one process keeps it
    /// 0). Several processes share a store: the latest of their views is the truth.
    public var totalsObservedNs: UInt64 = 0

    /// All counters at zero.
    public init() {}
}
