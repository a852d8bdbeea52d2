/// Where captured reasoning is kept: the one interface of the memory, SQLite and Redis stores
/// (product.md §5).
///
/// A store lives on the event-loop thread and is used only there. Keys carry their tenant, so
/// a store never mixes partitions. Every store keeps `limits`: a value is served only while
/// `storedAtMilliseconds + timeToLive` is in the future of the store's clock; values beyond
/// the entry or byte bound are dropped, least recently used first where the store can tell.
public protocol ReasoningStore: AnyObject {
    /// Looks up `keys` and calls `completion` exactly once with one result per key, in the
    /// same order. It may be called before `lookup` returns (memory) or later on the loop
    /// (Redis). A hit refreshes the value's recency.
    func lookup(_ keys: [CacheKey], completion: @escaping ([StoredReasoning?]) -> Void)

    /// The value under `key` if the store has it without waiting (a hot tier), else nil.
    /// A nil here is not a miss: `lookup` may still find it.
    func lookupNow(_ key: CacheKey) -> StoredReasoning?

    /// Whether `lookup` would find `key` without waiting. No side effects: no recency, no
    /// counters. The restore path uses it to skip building keys it will not need.
    func hasNow(_ key: CacheKey) -> Bool

    /// Stores `value` once under every key in `keys` (a message's ids and its content key).
    /// A key that already pointed at another value now points at this one; the other value
    /// keeps its remaining keys and is dropped when none is left. The store may drop the
    /// value at once: if its time-to-live has already run out, or it alone exceeds the bounds.
    func insert(_ value: StoredReasoning, for keys: [CacheKey])

    /// Drops values whose time-to-live has run out. Called periodically by the runtime.
    func removeExpired()

    /// Writes out whatever the store has batched (SQLite) or queued (Redis), as far as it can
    /// without waiting. Called when the process stops; a store that writes at once has nothing
    /// to do.
    func flush()

    /// The store's counters.
    var statistics: StoreStatistics { get }
}

extension ReasoningStore {
    /// Nothing is available without waiting, by default.
    public func lookupNow(_ key: CacheKey) -> StoredReasoning? { nil }

    /// Nothing is known without waiting, by default.
    public func hasNow(_ key: CacheKey) -> Bool { false }

    /// Stores that expire on their own (Redis) need no sweep.
    public func removeExpired() {}

    /// Nothing is batched, by default.
    public func flush() {}

    /// Looks up one key; see `lookup(_:completion:)`.
    public func lookup(_ key: CacheKey, completion: @escaping (StoredReasoning?) -> Void) {
        lookup([key]) { results in completion(results.first ?? nil) }
    }

    /// Stores `value` under one key; see `insert(_:for:)`.
    public func insert(_ value: StoredReasoning, for key: CacheKey) {
        insert(value, for: [key])
    }
}
