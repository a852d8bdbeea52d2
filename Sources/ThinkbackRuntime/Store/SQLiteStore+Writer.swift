import ThinkbackCore

// What one write transaction does (see SQLiteStore's comment): read the shared totals, apply
// the queue with the insert rule, sweep, evict, write the totals back.

extension SQLiteStore {
    /// Bytes a key adds to its value's account.
    private static var keyBytes: Int64 { Int64(CacheKey.byteCount + StoredReasoning.keyOverheadBytes) }

    /// Writes the queue, sweeps and evicts in one transaction. The queue is left as it is;
    /// on failure the counters are left as they were.
    func writeTransaction() -> SQLiteTransactionOutcome {
        let before = statistics
        do {
            try sql.begin.run()
        } catch let error as SQLiteError where error.isBusy {
            return .busy
        } catch {
            return .failed(error)
        }
        var ambiguous: [CacheKey] = []
        var sweepMore = sweepWanted
        do {
            var use = try readTotals()
            for operation in queue { try apply(operation, use: &use, ambiguous: &ambiguous) }
            if sweepWanted { sweepMore = try sweep() }
            try evictWhileOverBounds()
            try sql.writeTotals.run(.integer(Int64(statistics.entries)), .integer(Int64(statistics.keys)),
                                    .integer(Int64(statistics.bytes)), .integer(use))
            try sql.commit.run()
            statistics.totalsObservedNs = MonotonicClock.nowNs()
        } catch {
            try? sql.rollback.run()
            statistics = before
            if let error = error as? SQLiteError, error.isBusy { return .busy }
            return .failed(error)
        }
        return .committed(ambiguous: ambiguous, sweepMore: sweepMore)
    }

    /// Takes entries, keys and bytes from the file's totals; returns the last use stamp.
    @discardableResult
    func readTotals() throws -> Int64 {
        let totals = try sql.totals.withRow { ($0.int64(0), $0.int64(1), $0.int64(2), $0.int64(3)) }
        statistics.entries = Int(totals?.0 ?? 0)
        statistics.keys = Int(totals?.1 ?? 0)
        statistics.bytes = Int(totals?.2 ?? 0)
        statistics.totalsObservedNs = MonotonicClock.nowNs()
        return totals?.3 ?? 0
    }

    /// What `key` holds in the file, compared with `value`.
    func holding(_ key: CacheKey, like value: StoredReasoning, now: UInt64) throws -> SQLiteHeld {
        let row = try sql.held.withRow(.blob(key.bytes), .integer(Int64(clamping: now))) {
            (id: $0.int64(0), format: $0.int64(1), live: $0.int64(2) != 0, length: $0.int64(3))
        }
        guard let row else { return .absent }
        guard row.live else { return .free }
        if row.format == Int64(ReasoningFormat.ambiguous.rawValue) { return .ambiguous(entry: row.id) }
        guard row.format == Int64(value.format.rawValue), row.length == Int64(value.text.count) else { return .different }
        let same = try sql.sameText.withRow(.integer(row.id), .blob(value.text)) { $0.int64(0) != 0 } ?? false
        return same ? .same : .different
    }

    private func apply(_ operation: SQLiteOperation, use: inout Int64, ambiguous: inout [CacheKey]) throws {
        switch operation {
        case .insert(let value, let keys, let expiresAt):
            let now = clock.nowMilliseconds()
            var claimed: [CacheKey] = []
            var conflicting: [CacheKey] = []
            var held: [CacheKey] = []
            var markers: [Int64] = []
            let ambiguousBefore = ambiguous.count
            for key in keys {
                let holds = try holding(key, like: value, now: now)
                switch (holds, value.isAmbiguous) {
                case (.ambiguous(let marker), _):
                    // Stays ambiguous: its marker lives as long as the new value would have.
                    // (Detaching the key and storing a new marker, as for a key that turns
                    // ambiguous, wrote ~6 rows; an agent repeating a call does this often.)
                    if !markers.contains(marker) { markers.append(marker) }
                    continue
                case (.absent, _):
                    break
                default:
                    held.append(key)
                }
                switch (holds, value.isAmbiguous) {
                case (.ambiguous, _):
                    break
                case (.absent, false), (.free, false), (.same, false):
                    claimed.append(key)
                case (.absent, true), (.free, true), (.same, true), (.different, _):
                    conflicting.append(key)
                    ambiguous.append(key)
                }
            }
            statistics.ambiguous += ambiguous.count - ambiguousBefore
            // A key the file does not hold has nothing to detach (most keys of a new capture).
            for key in held { try detach(key) }
            use += 1
            for marker in markers {
                try sql.refreshMarker.run(.integer(marker), .integer(Int64(clamping: expiresAt)), .integer(use))
            }
            if !claimed.isEmpty { try store(value, under: claimed, expiresAt: expiresAt, use: use) }
            if !conflicting.isEmpty {
                try store(.ambiguityMarker(storedAtMilliseconds: value.storedAtMilliseconds), under: conflicting,
                          expiresAt: expiresAt, use: use)
            }
        case .touch(let entry):
            use += 1
            try sql.touch.run(.integer(entry), .integer(use))
        case .expire(let entry):
            let now = Int64(clamping: clock.nowMilliseconds())
            if try drop(entry, statement: sql.expireEntry, .integer(entry), .integer(now)) {
                statistics.expirations += 1
            }
        case .clear(let tenant?):
            // Keys begin with their tenant: the tenant's keys are one range of the index.
            let low = tenant.bytes
            let high = low + [UInt8](repeating: 0xFF, count: CacheKey.byteCount)
            let ids = try sql.tenantEntries.rows(.blob(low), .blob(high)) { $0.int64(0) }
            for id in ids { _ = try drop(id, statement: sql.deleteEntry, .integer(id)) }
        case .clear(nil):
            try sql.deleteAllKeys.run()
            try sql.deleteAllEntries.run()
            statistics.entries = 0
            statistics.keys = 0
            statistics.bytes = 0
        }
    }

    /// One new entry for `value`, and `keys` pointing at it.
    private func store(_ value: StoredReasoning, under keys: [CacheKey], expiresAt: UInt64, use: Int64) throws {
        let bytes = value.accountedBytes(keyCount: keys.count)
        try sql.insertEntry.run(
            .blob(value.text), .integer(Int64(value.format.rawValue)),
            .integer(Int64(clamping: value.storedAtMilliseconds)), .integer(Int64(clamping: expiresAt)),
            .integer(use), .integer(Int64(keys.count)), .integer(Int64(bytes)))
        let id = database.lastInsertRowID
        for key in keys { try sql.insertKey.run(.blob(key.bytes), .integer(id)) }
        statistics.entries += 1
        statistics.keys += keys.count
        statistics.bytes += bytes
    }

    /// Takes `key` from the value it points at, dropping that value if it was its last key.
    private func detach(_ key: CacheKey) throws {
        let blob = SQLiteValue.blob(key.bytes)
        guard let entry = try sql.keyEntry.withRow(blob, map: { $0.int64(0) }) else { return }
        try sql.deleteKey.run(blob)
        statistics.keys -= 1
        statistics.bytes -= Int(Self.keyBytes)
        let remaining = try sql.dropKeyFromEntry.withRow(.integer(entry), .integer(Self.keyBytes)) { $0.int64(0) }
        if remaining == 0 {
            _ = try drop(entry, statement: sql.deleteEntry, .integer(entry))
        }
    }

    /// Deletes an entry (with `statement`, which returns its key count and bytes) and its keys.
    private func drop(_ entry: Int64, statement: SQLiteStatement, _ values: SQLiteValue...) throws -> Bool {
        defer { statement.reset() }
        for (i, value) in values.enumerated() { try statement.bind(at: Int32(i + 1), value) }
        guard try statement.step() else { return false }
        let keyCount = Int(statement.int64(0))
        let bytes = Int(statement.int64(1))
        statement.reset()
        try sql.deleteEntryKeys.run(.integer(entry))
        statistics.entries -= 1
        statistics.keys -= keyCount
        statistics.bytes -= bytes
        return true
    }

    /// Deletes up to `sweepRows` expired values; true if more may be waiting.
    private func sweep() throws -> Bool {
        let now = Int64(clamping: clock.nowMilliseconds())
        let ids = try sql.expired.rows(.integer(now), .integer(Int64(options.sweepRows))) { $0.int64(0) }
        for id in ids where try drop(id, statement: sql.expireEntry, .integer(id), .integer(now)) {
            statistics.expirations += 1
        }
        return ids.count == options.sweepRows
    }

    /// Deletes the least recently used values until both bounds hold.
    private func evictWhileOverBounds() throws {
        while statistics.entries > limits.maxEntries || statistics.bytes > limits.maxBytes {
            guard let id = try sql.oldest.withRow(map: { $0.int64(0) }),
                  try drop(id, statement: sql.deleteEntry, .integer(id))
            else { break }
            statistics.evictions += 1
        }
    }
}

/// What a key holds in the file, compared with a value being inserted.
enum SQLiteHeld {
    /// No row at all.
    case absent
    /// A row, expired.
    case free
    /// A live value that restores like it.
    case same
    /// A live value that does not.
    case different
    /// A live ambiguity marker, the entry `entry`.
    case ambiguous(entry: Int64)
}

extension SQLiteHeld {
    /// The key restores something other than the value compared (another value, or nothing:
    /// a marker).
    var restoresOther: Bool {
        switch self {
        case .different, .ambiguous: true
        case .absent, .free, .same: false
        }
    }
}
