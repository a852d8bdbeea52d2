#if canImport(Glibc)
import Glibc
#endif
import ThinkbackCore

// The file: created owner-only, WAL, versioned schema (product.md §4: a store on disk is
// readable by its owner only; §5).
//
// entries: one row per value, `used` is its use stamp (eviction order), `bytes` what it counts
//          against the bound (`StoredReasoning.accountedBytes(keyCount:)`).
// keys:    the 49-byte `CacheKey.bytes` (tenant first) → entry; a value has one row per key.

extension SQLiteStore {
    static let schema = """
        CREATE TABLE entries(
            id INTEGER PRIMARY KEY,
            text BLOB NOT NULL,
            format INTEGER NOT NULL,
            stored_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            used INTEGER NOT NULL,
            key_count INTEGER NOT NULL,
            bytes INTEGER NOT NULL);
        CREATE INDEX entries_expires_at ON entries(expires_at);
        CREATE INDEX entries_used ON entries(used);
        CREATE TABLE keys(key BLOB PRIMARY KEY, entry_id INTEGER NOT NULL) WITHOUT ROWID;
        CREATE INDEX keys_entry_id ON keys(entry_id);
        """

    /// The bounds for a file that must stay within `fileBytes` (`--store-bytes`) with its WAL:
    /// values may account for two thirds of it; the rest is SQLite's page slack and free
    /// pages (~15% measured with 200 KB values) and the WAL (a sixteenth, plus one batch).
    public static func limits(fileBytes: Int, timeToLiveMilliseconds: UInt64) -> StoreLimits {
        StoreLimits(maxEntries: Int.max, maxBytes: max(fileBytes / 3 * 2, 1), timeToLiveMilliseconds: timeToLiveMilliseconds)
    }

    /// The WAL is checkpointed and cut back at this size: a twelfth of what values may
    /// account for (a sixteenth of the file budget), between 256 KiB and 4 MiB.
    static func walBytes(_ limits: StoreLimits) -> Int {
        max(256 << 10, min(4 << 20, limits.maxBytes / 12))
    }

    static func open(path: String, walBytes: Int) throws -> SQLiteDatabase {
        // Created owner-only before SQLite sees it; SQLite gives its -wal and -shm files the
        // database file's mode.
        let fd = Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw RuntimeError("cannot open \(path): \(String(cString: strerror(errno)))") }
        fchmod(fd, 0o600)
        close(fd)

        let db = try SQLiteDatabase(path: path)
        // Another process holding the write lock (a second thinkback on the same file) makes
        // a transaction wait at most this long before it fails and is counted.
        try db.exec("PRAGMA busy_timeout = 50")
        guard try db.text("PRAGMA journal_mode = WAL")?.lowercased() == "wal" else {
            throw RuntimeError("\(path): cannot switch to WAL mode")
        }
        try db.exec("PRAGMA synchronous = NORMAL")
        try db.exec("PRAGMA journal_size_limit = \(walBytes)")
        try db.exec("PRAGMA wal_autocheckpoint = \(max(walBytes / 4096, 16))")

        let version = try db.integer("PRAGMA user_version")
        switch version {
        case 0:
            try db.exec("BEGIN IMMEDIATE")
            do {
                try db.exec(schema)
                try db.exec("PRAGMA user_version = \(schemaVersion)")
                try db.exec("COMMIT")
            } catch {
                try? db.exec("ROLLBACK")
                throw error
            }
        case schemaVersion:
            break
        default:
            throw RuntimeError("\(path) has schema version \(version), newer than this thinkback's (\(schemaVersion))")
        }
        for suffix in ["-wal", "-shm"] { chmod(path + suffix, 0o600) }
        return db
    }
}

/// The store's prepared statements, compiled once.
struct SQLiteStatements {
    let totals, find, keyEntry, deleteKey, dropKeyFromEntry, insertEntry, insertKey, touch: SQLiteStatement
    let deleteEntry, deleteEntryKeys, expired, expireEntry, oldest, begin, commit, rollback: SQLiteStatement

    init(_ db: SQLiteDatabase) throws {
        totals = try db.prepare("SELECT count(*), coalesce(sum(key_count), 0), coalesce(sum(bytes), 0), coalesce(max(used), 0) FROM entries")
        find = try db.prepare("SELECT e.id, e.text, e.format, e.stored_at, e.expires_at FROM keys k JOIN entries e ON e.id = k.entry_id WHERE k.key = ?1")
        keyEntry = try db.prepare("SELECT entry_id FROM keys WHERE key = ?1")
        deleteKey = try db.prepare("DELETE FROM keys WHERE key = ?1")
        dropKeyFromEntry = try db.prepare("UPDATE entries SET key_count = key_count - 1, bytes = bytes - ?2 WHERE id = ?1 RETURNING key_count, bytes")
        insertEntry = try db.prepare("INSERT INTO entries(text, format, stored_at, expires_at, used, key_count, bytes) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
        insertKey = try db.prepare("INSERT INTO keys(key, entry_id) VALUES (?1, ?2)")
        touch = try db.prepare("UPDATE entries SET used = ?2 WHERE id = ?1")
        deleteEntry = try db.prepare("DELETE FROM entries WHERE id = ?1 RETURNING key_count, bytes")
        deleteEntryKeys = try db.prepare("DELETE FROM keys WHERE entry_id = ?1")
        expired = try db.prepare("SELECT id FROM entries WHERE expires_at <= ?1 ORDER BY expires_at LIMIT ?2")
        expireEntry = try db.prepare("DELETE FROM entries WHERE id = ?1 AND expires_at <= ?2 RETURNING key_count, bytes")
        oldest = try db.prepare("SELECT id FROM entries ORDER BY used LIMIT 1")
        begin = try db.prepare("BEGIN IMMEDIATE")
        commit = try db.prepare("COMMIT")
        rollback = try db.prepare("ROLLBACK")
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
