/// A hot in-memory tier in front of a store that outlives the process (SQLite) or is shared
/// (Redis): product.md §5.
///
/// Writes go to both at once (the cold store batches or pipelines them itself). Lookups are
/// answered from the hot tier; the keys it does not have are asked of the cold store, and
/// what it finds is copied into the hot tier. When the cold store fails, the hot tier keeps
/// serving: that is the "degraded to memory" of product.md §5. Loop thread only.
public final class TieredStore: ReasoningStore {
    /// The in-memory tier, bounded by `--cache-entries` / `--cache-bytes`.
    public let hot: MemoryStore
    /// The store behind it.
    public let cold: any ReasoningStore
    private var hits = 0 // loop thread only
    private var misses = 0 // loop thread only

    /// `hot` in front of `cold`.
    public init(hot: MemoryStore, cold: any ReasoningStore) {
        self.hot = hot
        self.cold = cold
        // Another process may have claimed a key this one also captured: the cold store's
        // commit finds it, and this tier stops answering its own value for it.
        cold.observeAmbiguity { [unowned hot] keys in hot.markAmbiguous(keys) }
    }

    /// Answers at once when the hot tier has every key (an ambiguity marker is an answer);
    /// otherwise when the cold store answers.
    public func lookup(_ keys: [CacheKey], completion: @escaping ([StoredReasoning?]) -> Void) {
        var results = [StoredReasoning?](repeating: nil, count: keys.count)
        var missing: [Int] = []
        for (i, key) in keys.enumerated() {
            if let value = hot.lookupNow(key) { results[i] = value } else { missing.append(i) }
        }
        hits += keys.count - missing.count
        guard !missing.isEmpty else { return completion(results) }
        cold.lookup(missing.map { keys[$0] }) { [self] found in
            for (j, i) in missing.enumerated() {
                // What comes back from the cold store is checked before it can be spliced.
                guard j < found.count, let value = found[j], value.isWellFormed else {
                    misses += 1
                    continue
                }
                hits += 1
                results[i] = value
                hot.insert(value, for: keys[i])
            }
            completion(results)
        }
    }

    /// The hot tier's answer.
    public func lookupNow(_ key: CacheKey) -> StoredReasoning? {
        hot.lookupNow(key)
    }

    public func insert(_ value: StoredReasoning, for keys: [CacheKey]) {
        hot.insert(value, for: keys)
        cold.insert(value, for: keys)
    }

    public func removeExpired() {
        hot.removeExpired()
        cold.removeExpired()
    }

    public func flush() {
        cold.flush()
    }

    /// Both tiers; done when the cold store is.
    public func clear(tenant: TenantID?, completion: @escaping (Bool) -> Void) {
        hot.clear(tenant: tenant) { _ in }
        cold.clear(tenant: tenant, completion: completion)
    }

    /// The hot tier: the cold store was cleared by another process.
    public func forgetLocalCopies(tenant: TenantID?) {
        hot.clear(tenant: tenant) { _ in }
    }

    /// The hot tier: another process marked these keys in the cold store.
    public func forgetLocalCopies(keys: [CacheKey]) {
        hot.markAmbiguous(keys)
    }

    /// The hot tier has every insert at once; what counts is the cold store's commit.
    public func whenCommitted(_ completion: @escaping (Bool) -> Void) {
        cold.whenCommitted(completion)
    }

    /// The cold store's contents and health, with hits and misses counted across both tiers
    /// (a key found in either is a hit).
    public var statistics: StoreStatistics {
        var s = cold.statistics
        s.hits = hits
        s.misses = misses
        return s
    }
}
