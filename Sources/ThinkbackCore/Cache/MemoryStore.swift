/// The in-memory store (product.md §5): bounded by entries and bytes, values expire after the
/// time-to-live, the least recently used value is evicted first. Every operation is O(1)
/// amortised (per key).
///
/// A value is stored once; each of its keys points at it. Evicting or expiring the value
/// drops all its keys. Not thread-safe: use it from the loop thread only.
public final class MemoryStore: ReasoningStore {
    /// The bounds this store keeps.
    public let limits: StoreLimits
    /// The store's counters.
    public private(set) var statistics = StoreStatistics()

    private let clock: any StoreClock
    // Internal rather than private for `brokenInvariant()` (MemoryStore+Invariants.swift).
    var slots = MemoryStoreSlots()
    var index: [CacheKey: MemoryStoreSlots.Index] = [:]

    /// A store keeping `limits`, reading time from `clock`.
    public init(limits: StoreLimits = StoreLimits(), clock: any StoreClock = SystemStoreClock()) {
        self.limits = limits
        self.clock = clock
    }

    /// Answers at once, before returning.
    public func lookup(_ keys: [CacheKey], completion: @escaping ([StoredReasoning?]) -> Void) {
        let now = clock.nowMilliseconds()
        completion(keys.map { find($0, now: now) })
    }

    /// Everything is available without waiting: the same answer as `lookup`.
    public func lookupNow(_ key: CacheKey) -> StoredReasoning? {
        find(key, now: clock.nowMilliseconds())
    }

    /// Stores `value` under `keys` (see `ReasoningStore.insert`: a key another value holds
    /// turns ambiguous), then evicts the least recently used values until both bounds hold.
    public func insert(_ value: StoredReasoning, for keys: [CacheKey]) {
        let keys = Self.unique(keys)
        guard !keys.isEmpty else { return }
        let (expiresAt, overflow) = value.storedAtMilliseconds.addingReportingOverflow(limits.timeToLiveMilliseconds)
        let expiresAtMilliseconds = overflow ? UInt64.max : expiresAt
        let now = clock.nowMilliseconds()
        guard expiresAtMilliseconds > now else { return }
        guard value.accountedBytes(keyCount: keys.count) <= limits.maxBytes else {
            statistics.rejections += 1
            return
        }
        var claimed: [CacheKey] = []
        var conflicting: [CacheKey] = []
        for key in keys {
            guard !value.isAmbiguous else {
                conflicting.append(key)
                continue
            }
            if let slot = index[key], slots[slot].expiresAtMilliseconds > now, let held = slots[slot].value,
               !held.restoresLike(value) {
                conflicting.append(key)
            } else {
                claimed.append(key)
            }
        }
        if !claimed.isEmpty { store(value, under: claimed, expiresAtMilliseconds: expiresAtMilliseconds, now: now) }
        if !conflicting.isEmpty {
            for key in conflicting {
                let wasAmbiguous = index[key].map { slots[$0].expiresAtMilliseconds > now && slots[$0].value?.isAmbiguous == true } ?? false
                if !wasAmbiguous { statistics.ambiguous += 1 }
            }
            store(.ambiguityMarker(storedAtMilliseconds: value.storedAtMilliseconds), under: conflicting,
                  expiresAtMilliseconds: expiresAtMilliseconds, now: now)
        }
    }

    /// Makes `keys` ambiguous from now on (for a key another process's capture claimed: the
    /// cold store behind this tier reports it).
    public func markAmbiguous(_ keys: [CacheKey]) {
        insert(.ambiguityMarker(storedAtMilliseconds: clock.nowMilliseconds()), for: keys)
    }

    /// Points `keys` at a new slot holding `value`, taking them from whatever held them.
    private func store(_ value: StoredReasoning, under keys: [CacheKey], expiresAtMilliseconds: UInt64, now: UInt64) {
        let bytes = value.accountedBytes(keyCount: keys.count)
        for key in keys {
            if let previous = index[key] { detach(key, from: previous) }
        }
        let slot = slots.allocate(value, keys: keys, expiresAtMilliseconds: expiresAtMilliseconds, bytes: bytes)
        for key in keys { index[key] = slot }
        statistics.entries += 1
        statistics.keys += keys.count
        statistics.bytes += bytes

        // The new value is the most recent, and fits alone, so it is never evicted here.
        while statistics.entries > limits.maxEntries || statistics.bytes > limits.maxBytes {
            drop(slots.leastRecent)
            statistics.evictions += 1
        }
    }

    /// Drops expired values, oldest insertion first, stopping at the first live one. A value
    /// inserted after a live one but expiring before it (an old `storedAtMilliseconds` copied
    /// from another store) waits for that one, or is dropped when looked up or evicted.
    public func removeExpired() {
        let now = clock.nowMilliseconds()
        while slots.eldest != MemoryStoreSlots.none, slots[slots.eldest].expiresAtMilliseconds <= now {
            drop(slots.eldest)
            statistics.expirations += 1
        }
    }

    private func find(_ key: CacheKey, now: UInt64) -> StoredReasoning? {
        guard let slot = index[key] else {
            statistics.misses += 1
            return nil
        }
        guard slots[slot].expiresAtMilliseconds > now else {
            drop(slot)
            statistics.expirations += 1
            statistics.misses += 1
            return nil
        }
        slots.touch(slot)
        statistics.hits += 1
        return slots[slot].value
    }

    /// Removes a value and all its keys.
    /// Drops `tenant`'s values (every value for nil); answers at once.
    public func clear(tenant: TenantID?, completion: @escaping (Bool) -> Void) {
        var doomed: Set<MemoryStoreSlots.Index> = []
        for (key, slot) in index where tenant == nil || key.tenant == tenant { doomed.insert(slot) }
        for slot in doomed { drop(slot) }
        completion(true)
    }

    private func drop(_ slot: MemoryStoreSlots.Index) {
        let freed = slots.free(slot)
        for key in freed.keys { index.removeValue(forKey: key) }
        statistics.entries -= 1
        statistics.keys -= freed.keys.count
        statistics.bytes -= freed.bytes
    }

    /// Takes `key` away from the value at `slot`, which is dropped if it has no key left.
    /// The caller repoints the key.
    private func detach(_ key: CacheKey, from slot: MemoryStoreSlots.Index) {
        guard slots[slot].keys.count > 1 else {
            drop(slot)
            return
        }
        let keyBytes = CacheKey.byteCount + StoredReasoning.keyOverheadBytes
        slots[slot].keys.removeAll { $0 == key }
        slots[slot].bytes -= keyBytes
        index.removeValue(forKey: key)
        statistics.keys -= 1
        statistics.bytes -= keyBytes
    }

    private static func unique(_ keys: [CacheKey]) -> [CacheKey] {
        // Few keys per message: a scan beats hashing until there are many.
        if keys.count <= 16 {
            var unique: [CacheKey] = []
            unique.reserveCapacity(keys.count)
            for key in keys where !unique.contains(key) { unique.append(key) }
            return unique
        }
        var seen = Set<CacheKey>(minimumCapacity: keys.count)
        return keys.filter { seen.insert($0).inserted }
    }
}
