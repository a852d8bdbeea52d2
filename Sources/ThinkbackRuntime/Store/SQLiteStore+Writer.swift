import ThinkbackCore

// The batched writer: one transaction per timer tick or full batch (see SQLiteStore's comment).

extension SQLiteStore {
    /// Bytes a key adds to its value's account.
    private static var keyBytes: Int64 { Int64(CacheKey.byteCount + StoredReasoning.keyOverheadBytes) }

    /// Writes the queue, sweeps and evicts in one transaction. On failure the batch is dropped
    /// (the hot tier still has it) and the counters are left as they were.
    func writeBatch() {
        guard !queue.isEmpty || sweepWanted else { return }
        let operations = queue
        queue = []
        queuedByKey = [:]
        queuedBytes = 0
        let before = statistics
        do {
            try sql.begin.run()
            do {
                for operation in operations { try apply(operation) }
                if sweepWanted { sweepWanted = try sweep() }
                try evictWhileOverBounds()
                try sql.commit.run()
            } catch {
                try? sql.rollback.run()
                throw error
            }
            succeeded()
        } catch {
            statistics.entries = before.entries
            statistics.keys = before.keys
            statistics.bytes = before.bytes
            statistics.evictions = before.evictions
            statistics.expirations = before.expirations
            failed(error)
        }
        if !queue.isEmpty || sweepWanted { schedule() }
    }

    private func apply(_ operation: SQLiteOperation) throws {
        switch operation {
        case .insert(let value, let keys, let expiresAt, let use):
            for key in keys { try detach(key) }
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
        case .touch(let entry, let use):
            try sql.touch.run(.integer(entry), .integer(use))
        case .expire(let entry):
            let now = Int64(clamping: clock.nowMilliseconds())
            if try drop(entry, statement: sql.expireEntry, .integer(entry), .integer(now)) {
                statistics.expirations += 1
            }
        }
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
