import ThinkbackCore

// Which keys the file may hold, in memory (issue 18): a key the file cannot hold is answered
// absent without asking SQLite. Most lookups that reach this store are such misses (a history
// whose tool-call messages this process never saw), and each cost a point lookup, ~3.5 µs.
//
// `filter` (a `KeyFingerprintSet`) never misses a key the file holds:
// - at open it reads every key of the file;
// - a key this process inserts is added at once, queued or not (a batch that fails leaves it
//   in: a false positive, which only costs the lookup);
// - before it answers a key absent, it catches up with other processes: one
//   `PRAGMA data_version` per lookup call tells whether another connection committed since
//   the last look; if one did, the keys of entries newer than `filterWatermark` are read
//   (`keys_entry_id` index). Entry ids only grow (schema version 3: `totals.last_id` and the
//   `entries_id_grows` trigger), so a commit never adds a key under an id at or below it.
// Keys the file drops (eviction, expiry, another value) stay in the set: false positives.
// When it holds more than the file's keys plus `staleAllowance`, a new set is built from the
// file, a slice of keys per loop turn, while the old one keeps answering; every key added
// meanwhile goes to both.

/// What the SQLite store's key filter saved and cost, for tests and the status page.
public struct SQLiteFilterStatistics: Hashable, Sendable {
    /// Lookups that went to the file (point lookups of `keys` joined with `entries`).
    public var fileLookups = 0
    /// Keys answered absent by the filter, without asking the file.
    public var absentWithoutLookup = 0
    /// Times another process had committed and the filter read the keys it added.
    public var catchUps = 0
    /// Keys read from the file: at open, in catch-ups and rebuilds.
    public var keysRead = 0
    /// Filters rebuilt because they held too many keys the file had dropped.
    public var rebuilds = 0
    /// Fingerprints in the filter (keys the file holds, and some it has dropped).
    public var keys = 0
    /// Memory the filter takes (and a rebuild in progress).
    public var bytes = 0

    public init() {}
}

/// A filter being rebuilt: the new set, and the last key read (the file's keys in key order).
struct SQLiteFilterRebuild {
    var next: KeyFingerprintSet
    var after: [UInt8] = []
}

extension SQLiteStore {
    /// Fingerprints of dropped keys the filter may hold before it is rebuilt: half the keys
    /// the file holds, at least `Options.filterStaleFloor` (16,384 by default, ~128 KiB of
    /// table: rebuilding a small file's filter often would cost more than it saves).
    func staleAllowance(fileKeys: Int) -> Int { max(fileKeys / 2, options.filterStaleFloor) }

    /// Whether the file may hold `key`. The first time in a lookup call that the filter says
    /// no, it catches up with other processes' commits (`caughtUp`: nil until then, then
    /// whether that worked) and asks again. If SQLite cannot tell what changed, the answer is
    /// yes (the lookup then asks the file).
    func mayHold(_ key: CacheKey, caughtUp: inout Bool?) -> Bool {
        let fingerprint = key.fingerprint
        if filter.contains(fingerprint) { return true }
        if caughtUp == nil { caughtUp = catchUpFilter() }
        return caughtUp == true ? filter.contains(fingerprint) : true
    }

    func addToFilter(_ fingerprint: UInt32) {
        filter.insert(fingerprint)
        filterRebuild?.next.insert(fingerprint)
    }

    /// Reads every key of the file (at open). The version is read first: a commit after it is
    /// both read here and seen as a change by the next catch-up.
    func loadFilter() throws {
        filterDataVersion = try sql.dataVersion.withRow { $0.int64(0) } ?? 0
        var loaded = KeyFingerprintSet(minimumCount: statistics.keys)
        var watermark: Int64 = 0
        try forEachKey(of: sql.allKeys, each: { fingerprint, entry in
            loaded.insert(fingerprint)
            watermark = max(watermark, entry)
        })
        filter = loaded
        filterWatermark = watermark
        noteFilterSize()
    }

    /// Adds the keys of entries other processes committed since the last catch-up; false if
    /// SQLite failed (nothing can be said about what the file holds then).
    func catchUpFilter() -> Bool {
        do {
            guard let version = try sql.dataVersion.withRow(map: { $0.int64(0) }) else { return false }
            guard version != filterDataVersion else { return true }
            var watermark = filterWatermark
            try forEachKey(of: sql.keysSince, .integer(filterWatermark), each: { fingerprint, entry in
                addToFilter(fingerprint)
                watermark = max(watermark, entry)
            })
            filterWatermark = watermark
            filterDataVersion = version
            filterStatistics.catchUps += 1
            // The file's key count, for the rebuild rule: this process may not write for a while.
            try readTotals()
        } catch {
            failed(error)
            return false
        }
        rebuildFilterIfStale()
        return true
    }

    /// Starts a rebuild when the filter holds more dropped keys than `staleAllowance`.
    /// Called after catch-ups and after this process's transactions.
    func rebuildFilterIfStale() {
        noteFilterSize()
        guard filterRebuild == nil, filter.count > statistics.keys + staleAllowance(fileKeys: statistics.keys) else { return }
        filterRebuild = SQLiteFilterRebuild(next: KeyFingerprintSet(minimumCount: statistics.keys))
        if let rebuildTimer {
            rebuildTimer.arm(milliseconds: 1)
        } else {
            while filterRebuild != nil { rebuildFilterSlice() }
        }
    }

    /// Reads the next slice of the file's keys into the rebuilt filter; swaps it in after the
    /// last. Each slice is its own read: a key committed between two slices where the scan had
    /// passed is caught up through the watermark, which the rebuild leaves alone.
    func rebuildFilterSlice() {
        // Taken out while it is filled, so that its table is not copied.
        guard var rebuild = filterRebuild else { return }
        filterRebuild = nil
        var read = 0
        var last: [UInt8]?
        let statement = sql.keysAfter
        do {
            defer { statement.reset() }
            try statement.bind(at: 1, .blob(rebuild.after))
            try statement.bind(at: 2, .integer(Int64(options.filterSliceKeys)))
            while try statement.step() {
                read += 1
                guard let spelling = statement.blobBytes(0), spelling.count == CacheKey.byteCount else { continue }
                rebuild.next.insert(CacheKey.fingerprint(spelling: spelling))
                if read == options.filterSliceKeys { last = Array(spelling) }
            }
        } catch {
            // Tried again from the same key later; the old filter keeps answering meanwhile.
            failed(error)
            filterRebuild = rebuild
            if let rebuildTimer { rebuildTimer.arm(milliseconds: 100) } else { filterRebuild = nil }
            return
        }
        filterStatistics.keysRead += read
        if let last {
            rebuild.after = last
            filterRebuild = rebuild
            rebuildTimer?.arm(milliseconds: 1)
        } else {
            filter = rebuild.next
            filterStatistics.rebuilds += 1
        }
        noteFilterSize()
    }

    /// Calls `body` with each key's fingerprint and entry id from `statement`'s rows
    /// (`key, entry_id`), read in place.
    private func forEachKey(of statement: SQLiteStatement, _ values: SQLiteValue...,
                            each body: (UInt32, Int64) -> Void) throws {
        defer { statement.reset() }
        for (i, value) in values.enumerated() { try statement.bind(at: Int32(i + 1), value) }
        var read = 0
        while try statement.step() {
            guard let spelling = statement.blobBytes(0), spelling.count == CacheKey.byteCount else { continue }
            body(CacheKey.fingerprint(spelling: spelling), statement.int64(1))
            read += 1
        }
        filterStatistics.keysRead += read
    }

    private func noteFilterSize() {
        filterStatistics.keys = filter.count
        filterStatistics.bytes = filter.bytes + (filterRebuild?.next.bytes ?? 0)
    }
}
