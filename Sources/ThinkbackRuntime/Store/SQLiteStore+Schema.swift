#if canImport(Glibc)
import Glibc
#endif
import ThinkbackCore

// The file: created owner-only, WAL, versioned schema (product.md §4: a store on disk is
// readable by its owner only; §5). Several processes may share it.
//
// entries: one row per value, `used` is its use stamp (eviction order), `bytes` what it counts
//          against the bound (`StoredReasoning.accountedBytes(keyCount:)`). An ambiguity
//          marker is an entry of format 255 with empty text.
// keys:    the 49-byte `CacheKey.bytes` (tenant first) → entry; a value has one row per key.
// totals:  one row: the sums over `entries` and the last use stamp, kept by every write
//          transaction, so that every process sharing the file counts the same bound; and
//          `last_id`, the largest entry id ever given (version 3).
//
// Entry ids only grow (version 3): a new entry takes `last_id + 1`, and the trigger refuses
// any other (a writer of version 2 still running on an upgraded file reuses the id of a
// deleted newest entry: its transaction fails rather than hide a key from the processes'
// key filters, which read the keys of entries above the largest id they have seen).

/// Monotonic milliseconds, for the open retry's deadline (the loop's clock is not running yet).
enum StartupClock {
    static func nowMs() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1000 + UInt64(ts.tv_nsec) / 1_000_000
    }
}

extension SQLiteStore {
    /// Version 1: values and keys.
    static let schemaVersion1 = """
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

    /// Version 1 → 2: the shared totals, computed from what the file holds.
    static let migrationTo2 = """
        CREATE TABLE totals(
            id INTEGER PRIMARY KEY CHECK (id = 1),
            entries INTEGER NOT NULL,
            keys INTEGER NOT NULL,
            bytes INTEGER NOT NULL,
            used INTEGER NOT NULL);
        INSERT INTO totals
            SELECT 1, count(*), coalesce(sum(key_count), 0), coalesce(sum(bytes), 0), coalesce(max(used), 0) FROM entries;
        PRAGMA user_version = 2;
        """

    /// Version 2 → 3: entry ids that are never reused. Adding a column with a default and a
    /// trigger rewrites no row: instant on a file of any size.
    static let migrationTo3 = """
        ALTER TABLE totals ADD COLUMN last_id INTEGER NOT NULL DEFAULT 0;
        UPDATE totals SET last_id = (SELECT coalesce(max(id), 0) FROM entries);
        CREATE TRIGGER entries_id_grows AFTER INSERT ON entries
        BEGIN
            SELECT RAISE(ABORT, 'entry id at or below totals.last_id') WHERE NEW.id <= (SELECT last_id FROM totals);
            UPDATE totals SET last_id = NEW.id;
        END;
        PRAGMA user_version = 3;
        """

    /// The bounds for a file that must stay within `fileBytes` (`--store-bytes`) with its WAL:
    /// values may account for two thirds of it; the rest is SQLite's page slack and free
    /// pages (~15% measured with 200 KB values) and the WAL (a sixteenth, plus one batch).
    public static func limits(fileBytes: Int, timeToLiveMilliseconds: UInt64) -> StoreLimits {
        StoreLimits(maxEntries: Int.max, maxBytes: max(fileBytes / 3 * 2, 1), timeToLiveMilliseconds: timeToLiveMilliseconds)
    }

    /// The WAL is checkpointed and cut back at this size: a twelfth of what values may
    /// account for (a sixteenth of the file budget), between 256 KiB and 64 MiB (57 MiB at
    /// the default 1 GiB). Every commit appends the pages it touched (a capture: ~7); a
    /// checkpoint copies each page once however often it was written since the last, and
    /// syncs the file. At 4 MiB a busy proxy checkpointed ~100 times a second: 7% of its CPU
    /// in fdatasync and 10% more CPU per captured request than now (issue 18).
    static func walBytes(_ limits: StoreLimits) -> Int {
        max(256 << 10, min(64 << 20, limits.maxBytes / 12))
    }

    /// Opens the file, creating or upgrading its schema. Waits up to `lockWaitMilliseconds`
    /// for other processes opening the same file at the same moment (startup is not on the
    /// request path).
    static func open(path: String, walBytes: Int, lockWaitMilliseconds: Int32) throws -> SQLiteDatabase {
        // Created owner-only before SQLite sees it; SQLite gives its -wal and -shm files the
        // database file's mode.
        let fd = Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw RuntimeError("cannot open \(path): \(String(cString: strerror(errno)))") }
        fchmod(fd, 0o600)
        close(fd)

        // Two processes switching a new file to WAL at once can deadlock inside SQLite (both
        // hold a shared lock and want the exclusive one): SQLite then fails one at once instead
        // of calling its busy handler. That one starts over after a short random pause.
        var generator = SystemRandomNumberGenerator()
        let deadline = StartupClock.nowMs() + UInt64(max(lockWaitMilliseconds, 0))
        while true {
            do {
                return try openOnce(path: path, walBytes: walBytes, lockWaitMilliseconds: lockWaitMilliseconds)
            } catch let error as SQLiteError where error.isBusy && StartupClock.nowMs() < deadline {
                usleep(UInt32.random(in: 5_000 ... 30_000, using: &generator))
            }
        }
    }

    private static func openOnce(path: String, walBytes: Int, lockWaitMilliseconds: Int32) throws -> SQLiteDatabase {
        let db = try SQLiteDatabase(path: path)
        db.lockWaitMilliseconds = lockWaitMilliseconds
        guard try db.text("PRAGMA journal_mode = WAL")?.lowercased() == "wal" else {
            throw RuntimeError("\(path): cannot switch to WAL mode")
        }
        try db.exec("PRAGMA synchronous = NORMAL")
        try db.exec("PRAGMA journal_size_limit = \(walBytes)")
        // No checkpoint inside the loop's commits: SQLiteCheckpointer runs them on its thread.
        try db.exec("PRAGMA wal_autocheckpoint = 0")

        // The version is read under the write lock: another process may be creating or
        // upgrading the schema right now.
        try db.exec("BEGIN IMMEDIATE")
        do {
            let version = try db.integer("PRAGMA user_version")
            switch version {
            case 0:
                try db.exec(schemaVersion1)
                try db.exec(migrationTo2)
                try db.exec(migrationTo3)
            case 1:
                try db.exec(migrationTo2)
                try db.exec(migrationTo3)
            case 2:
                try db.exec(migrationTo3)
            case schemaVersion:
                break
            default:
                throw RuntimeError("\(path) has schema version \(version), newer than this thinkback's (\(schemaVersion))")
            }
            try db.exec("COMMIT")
        } catch {
            try? db.exec("ROLLBACK")
            throw error
        }
        for suffix in ["-wal", "-shm"] { chmod(path + suffix, 0o600) }
        return db
    }
}
