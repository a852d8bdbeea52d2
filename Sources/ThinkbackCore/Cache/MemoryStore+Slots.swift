/// The values of a `MemoryStore`: an array of slots, each on two intrusive doubly-linked
/// lists over array indices — recency (for LRU eviction) and insertion age (for the expiry
/// sweep) — with freed slots chained into a free list for reuse. No allocation per node.
struct MemoryStoreSlots {
    typealias Index = Int32
    static let none: Index = -1

    struct Slot {
        /// nil while the slot is free.
        var value: StoredReasoning?
        var keys: [CacheKey]
        var expiresAtMilliseconds: UInt64
        var bytes: Int
        // Recency list; on the free list, `older` chains free slots.
        var newer: Index
        var older: Index
        // Age list, in insertion order.
        var younger: Index
        var elder: Index
    }

    private(set) var storage: [Slot] = []
    private var freeHead = none
    /// The most recently inserted or looked-up slot.
    private(set) var mostRecent = none
    /// The next slot to evict.
    private(set) var leastRecent = none
    /// The earliest inserted live slot: where the expiry sweep starts.
    private(set) var eldest = none
    private(set) var youngest = none
    /// Live slots.
    private(set) var count = 0

    subscript(index: Index) -> Slot {
        _read { yield storage[Int(index)] }
        _modify { yield &storage[Int(index)] }
    }

    /// Stores a value in a free slot (or a new one) and makes it the most recent and youngest.
    mutating func allocate(
        _ value: StoredReasoning, keys: [CacheKey], expiresAtMilliseconds: UInt64, bytes: Int
    ) -> Index {
        let slot = Slot(
            value: value, keys: keys, expiresAtMilliseconds: expiresAtMilliseconds, bytes: bytes,
            newer: Self.none, older: mostRecent, younger: Self.none, elder: youngest
        )
        let index: Index
        if freeHead != Self.none {
            index = freeHead
            freeHead = self[index].older
            self[index] = slot
        } else {
            precondition(storage.count < Int(Index.max), "memory store slot index overflow")
            index = Index(storage.count)
            storage.append(slot)
        }
        if mostRecent != Self.none { self[mostRecent].newer = index } else { leastRecent = index }
        mostRecent = index
        if youngest != Self.none { self[youngest].younger = index } else { eldest = index }
        youngest = index
        count += 1
        return index
    }

    /// Unlinks the slot from both lists, puts it on the free list and returns what it held.
    mutating func free(_ index: Index) -> Slot {
        let slot = self[index]
        unlinkFromRecency(slot)
        if slot.younger != Self.none { self[slot.younger].elder = slot.elder } else { youngest = slot.elder }
        if slot.elder != Self.none { self[slot.elder].younger = slot.younger } else { eldest = slot.younger }
        self[index] = Slot(
            value: nil, keys: [], expiresAtMilliseconds: 0, bytes: 0,
            newer: Self.none, older: freeHead, younger: Self.none, elder: Self.none
        )
        freeHead = index
        count -= 1
        return slot
    }

    /// Makes the slot the most recently used.
    mutating func touch(_ index: Index) {
        guard index != mostRecent else { return }
        let slot = self[index]
        unlinkFromRecency(slot)
        self[index].newer = Self.none
        self[index].older = mostRecent
        self[mostRecent].newer = index
        mostRecent = index
    }

    private mutating func unlinkFromRecency(_ slot: Slot) {
        if slot.newer != Self.none { self[slot.newer].older = slot.older } else { mostRecent = slot.older }
        if slot.older != Self.none { self[slot.older].newer = slot.newer } else { leastRecent = slot.newer }
    }
}
