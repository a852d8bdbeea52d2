/// The SQLite store's prepared statements, compiled once.
struct SQLiteStatements {
    let totals, writeTotals, find, held, sameText, keyEntry, deleteKey, dropKeyFromEntry, insertEntry, insertKey, touch, refreshMarker: SQLiteStatement
    let deleteEntry, deleteEntryKeys, expired, expireEntry, oldest, begin, commit, rollback: SQLiteStatement
    /// `clear`'s.
    let tenantEntries, deleteAllKeys, deleteAllEntries: SQLiteStatement
    /// The key filter's (`SQLiteStore+Filter.swift`).
    let dataVersion, allKeys, keysSince, keysAfter: SQLiteStatement

    init(_ db: SQLiteDatabase) throws {
        totals = try db.prepare("SELECT entries, keys, bytes, used FROM totals")
        writeTotals = try db.prepare("UPDATE totals SET entries = ?1, keys = ?2, bytes = ?3, used = ?4")
        find = try db.prepare("SELECT e.id, e.text, e.format, e.stored_at, e.expires_at FROM keys k JOIN entries e ON e.id = k.entry_id WHERE k.key = ?1")
        // What a key holds (?2: now): its entry, format, whether it is live, the text's length
        // (from the record header: the text itself is read only by `sameText`).
        held = try db.prepare("SELECT e.id, e.format, e.expires_at > ?2, length(e.text) FROM keys k JOIN entries e ON e.id = k.entry_id WHERE k.key = ?1")
        sameText = try db.prepare("SELECT text = ?2 FROM entries WHERE id = ?1")
        keyEntry = try db.prepare("SELECT entry_id FROM keys WHERE key = ?1")
        deleteKey = try db.prepare("DELETE FROM keys WHERE key = ?1")
        dropKeyFromEntry = try db.prepare("UPDATE entries SET key_count = key_count - 1, bytes = bytes - ?2 WHERE id = ?1 RETURNING key_count, bytes")
        // The id after the largest ever given (schema version 3): ids are never reused.
        insertEntry = try db.prepare("INSERT INTO entries(id, text, format, stored_at, expires_at, used, key_count, bytes) VALUES ((SELECT last_id + 1 FROM totals), ?1, ?2, ?3, ?4, ?5, ?6, ?7)")
        insertKey = try db.prepare("INSERT INTO keys(key, entry_id) VALUES (?1, ?2)")
        touch = try db.prepare("UPDATE entries SET used = ?2 WHERE id = ?1")
        refreshMarker = try db.prepare("UPDATE entries SET expires_at = max(expires_at, ?2), used = ?3 WHERE id = ?1")
        deleteEntry = try db.prepare("DELETE FROM entries WHERE id = ?1 RETURNING key_count, bytes")
        deleteEntryKeys = try db.prepare("DELETE FROM keys WHERE entry_id = ?1")
        expired = try db.prepare("SELECT id FROM entries WHERE expires_at <= ?1 ORDER BY expires_at LIMIT ?2")
        expireEntry = try db.prepare("DELETE FROM entries WHERE id = ?1 AND expires_at <= ?2 RETURNING key_count, bytes")
        oldest = try db.prepare("SELECT id FROM entries ORDER BY used LIMIT 1")
        tenantEntries = try db.prepare("SELECT DISTINCT entry_id FROM keys WHERE key > ?1 AND key < ?2")
        deleteAllKeys = try db.prepare("DELETE FROM keys")
        deleteAllEntries = try db.prepare("DELETE FROM entries")
        begin = try db.prepare("BEGIN IMMEDIATE")
        commit = try db.prepare("COMMIT")
        rollback = try db.prepare("ROLLBACK")
        // Changes when another connection commits (https://sqlite.org/pragma.html#pragma_data_version).
        dataVersion = try db.prepare("PRAGMA data_version")
        allKeys = try db.prepare("SELECT key, entry_id FROM keys")
        keysSince = try db.prepare("SELECT key, entry_id FROM keys WHERE entry_id > ?1")
        keysAfter = try db.prepare("SELECT key FROM keys WHERE key > ?1 ORDER BY key LIMIT ?2")
    }
}

extension SQLiteStatement {
    /// Binds `values`, maps the first row (if any), resets.
    func withRow<T>(_ values: SQLiteValue..., map: (SQLiteStatement) -> T) throws -> T? {
        defer { reset() }
        for (i, value) in values.enumerated() { try bind(at: Int32(i + 1), value) }
        guard try step() else { return nil }
        return map(self)
    }

    /// Binds `values`, maps every row, resets.
    func rows<T>(_ values: SQLiteValue..., map: (SQLiteStatement) -> T) throws -> [T] {
        defer { reset() }
        for (i, value) in values.enumerated() { try bind(at: Int32(i + 1), value) }
        var out: [T] = []
        while try step() { out.append(map(self)) }
        return out
    }
}
