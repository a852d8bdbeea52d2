extension MemoryStore {
    /// The first broken internal invariant, or nil: lists, index and counters agree and the
    /// bounds hold. For tests; O(n).
    func brokenInvariant() -> String? {
        let none = MemoryStoreSlots.none
        var seen = Set<MemoryStoreSlots.Index>()
        var keyCount = 0
        var byteCount = 0

        var previous = none
        var current = slots.mostRecent
        while current != none {
            let slot = slots[current]
            guard let value = slot.value else { return "free slot \(current) on the recency list" }
            guard seen.insert(current).inserted else { return "cycle in the recency list at \(current)" }
            guard slot.newer == previous else { return "slot \(current) has a wrong newer link" }
            guard slot.bytes == value.accountedBytes(keyCount: slot.keys.count) else {
                return "slot \(current) accounts \(slot.bytes) bytes"
            }
            for key in slot.keys where index[key] != current {
                return "key \(key) of slot \(current) is indexed elsewhere"
            }
            keyCount += slot.keys.count
            byteCount += slot.bytes
            previous = current
            current = slot.older
        }
        guard previous == slots.leastRecent else { return "recency list does not end at leastRecent" }

        var ageCount = 0
        previous = none
        current = slots.eldest
        while current != none {
            guard seen.contains(current) else { return "slot \(current) on the age list only" }
            guard slots[current].elder == previous else { return "slot \(current) has a wrong elder link" }
            ageCount += 1
            previous = current
            current = slots[current].younger
        }
        guard previous == slots.youngest else { return "age list does not end at youngest" }

        if seen.count != slots.count || ageCount != slots.count { return "list lengths differ from count" }
        if statistics.entries != slots.count { return "entries \(statistics.entries) != \(slots.count)" }
        if statistics.keys != keyCount || index.count != keyCount { return "key counts disagree" }
        if statistics.bytes != byteCount { return "bytes \(statistics.bytes) != \(byteCount)" }
        if statistics.entries > limits.maxEntries { return "entry bound exceeded" }
        if statistics.bytes > limits.maxBytes { return "byte bound exceeded" }
        return nil
    }
}
