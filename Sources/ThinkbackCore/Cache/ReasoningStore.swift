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

    /// Stores `value` once under every key in `keys` (a message's keys: context, id, content).
    ///
    /// A key names one message (product.md §1), so a key never silently changes its value:
    /// - a key that is free (or whose value expired) points at `value`;
    /// - a key whose value restores like `value` (`restoresLike`) points at `value`;
    /// - a key whose value differs, or that is already ambiguous, becomes (or stays)
    ///   ambiguous: lookups answer the ambiguity marker until it expires with `value`'s
    ///   time-to-live, counted in `statistics.ambiguous`.
    /// Inserting the marker itself (`StoredReasoning.ambiguityMarker`) makes every key ambiguous.
    /// A value that lost a key keeps its other keys. The store may drop the value at once: if
    /// its time-to-live has already run out, or it alone exceeds the bounds.
    func insert(_ value: StoredReasoning, for keys: [CacheKey])

    /// Calls `completion` exactly once, on the loop, when every insert made before this call
    /// is committed: `true` once it is durable where the store keeps it (SQLite: its
    /// transaction committed; Redis: acknowledged), `false` when the store could not commit it
    /// (it failed or is unreachable: the value lives in memory only). With nothing pending
    /// (and always for memory) it is called before `whenCommitted` returns. The loop never
    /// waits: a store commits in the background of the loop and calls back later.
    func whenCommitted(_ completion: @escaping (Bool) -> Void)

    /// Registers who learns of keys that turned ambiguous in the store's own commits (another
    /// process's capture already held them): the hot tier in front marks them too.
    func observeAmbiguity(_ observer: @escaping ([CacheKey]) -> Void)

    /// Drops values whose time-to-live has run out. Called periodically by the runtime.
    func removeExpired()

    /// Writes out whatever the store has batched (SQLite) or queued (Redis), as far as it can
    /// without waiting. Called when the process stops; a store that writes at once has nothing
    /// to do.
    func flush()

    /// The store's counters.
    var statistics: StoreStatistics { get }

    /// Drops every value of `tenant` (nil: of every tenant) — `POST /admin/cache/clear` — and
    /// calls `completion` once, on the loop, when that is done where the store keeps its data
    /// (false: it could not be).
    func clear(tenant: TenantID?, completion: @escaping (Bool) -> Void)

    /// Drops what this process keeps of `tenant`'s values (nil: everyone's) beside the store
    /// itself — a hot tier — after another process cleared them from the shared store.
    func forgetLocalCopies(tenant: TenantID?)

    /// Marks `keys` ambiguous in what this process keeps beside the store, after another
    /// process did so in the shared store (a refused value is not sent again).
    func forgetLocalCopies(keys: [CacheKey])
}

extension ReasoningStore {
    /// Nothing is available without waiting, by default.
    public func lookupNow(_ key: CacheKey) -> StoredReasoning? { nil }

    /// Nothing is kept beside the store, by default.
    public func forgetLocalCopies(tenant: TenantID?) {}

    public func forgetLocalCopies(keys: [CacheKey]) {}

    /// Stores that expire on their own (Redis) need no sweep.
    public func removeExpired() {}

    /// Nothing is batched, by default.
    public func flush() {}

    /// A store that writes at once has committed everything already.
    public func whenCommitted(_ completion: @escaping (Bool) -> Void) { completion(true) }

    /// A store whose inserts are decided in memory reports nothing.
    public func observeAmbiguity(_ observer: @escaping ([CacheKey]) -> Void) {}

    /// Looks up one key; see `lookup(_:completion:)`.
    public func lookup(_ key: CacheKey, completion: @escaping (StoredReasoning?) -> Void) {
        lookup([key]) { results in completion(results.first ?? nil) }
    }

    /// Stores `value` under one key; see `insert(_:for:)`.
    public func insert(_ value: StoredReasoning, for key: CacheKey) {
        insert(value, for: [key])
    }
}
