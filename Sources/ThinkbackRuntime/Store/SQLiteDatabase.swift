import CSQLite

/// An error from SQLite: its result code and message (never a key or a value).
public struct SQLiteError: Error, CustomStringConvertible {
    public let code: Int32
    public let message: String
    public var description: String { "sqlite error \(code): \(message)" }

    /// Another connection (another process on the same file) holds the lock needed.
    var isBusy: Bool { code & 0xff == SQLITE_BUSY }
}

/// A thin owner of one `sqlite3` connection (C API; no logic). Loop thread only.
final class SQLiteDatabase {
    let handle: OpaquePointer

    /// Opens (creating if needed) the database at `path`, without SQLite's own mutexes: the
    /// connection is used from the loop thread only.
    init(path: String) throws {
        var db: OpaquePointer?
        let rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            if let db { sqlite3_close_v2(db) }
            throw SQLiteError(code: rc, message: message)
        }
        handle = db
        sqlite3_extended_result_codes(db, 1)
    }

    deinit { sqlite3_close_v2(handle) }

    /// How long a statement waits for another connection's lock before it fails with
    /// SQLITE_BUSY (SQLite's own sleeping busy handler); 0: it fails at once.
    var lockWaitMilliseconds: Int32 = 0 {
        didSet {
            if lockWaitMilliseconds != oldValue { sqlite3_busy_timeout(handle, lockWaitMilliseconds) }
        }
    }

    func error(_ code: Int32) -> SQLiteError {
        SQLiteError(code: code, message: String(cString: sqlite3_errmsg(handle)))
    }

    /// Runs `sql` (one or more statements, no parameters).
    func exec(_ sql: String) throws {
        let rc = sqlite3_exec(handle, sql, nil, nil, nil)
        guard rc == SQLITE_OK else { throw error(rc) }
    }

    /// The first column of the first row of `sql`, as text (for PRAGMAs).
    func text(_ sql: String) throws -> String? {
        let statement = try prepare(sql)
        guard try statement.step() else { return nil }
        return statement.text(0)
    }

    /// The first column of the first row of `sql`, as an integer.
    func integer(_ sql: String) throws -> Int64 {
        let statement = try prepare(sql)
        guard try statement.step() else { return 0 }
        return statement.int64(0)
    }

    func prepare(_ sql: String) throws -> SQLiteStatement {
        var raw: OpaquePointer?
        let rc = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &raw, nil)
        guard rc == SQLITE_OK, let raw else { throw error(rc) }
        return SQLiteStatement(raw, database: self)
    }

    /// Rows changed by the last INSERT, UPDATE or DELETE.
    var changes: Int { Int(sqlite3_changes(handle)) }
    var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }
}

/// One prepared statement, reused: bind, step, and `reset()` when done.
final class SQLiteStatement {
    let handle: OpaquePointer
    private unowned let database: SQLiteDatabase

    init(_ handle: OpaquePointer, database: SQLiteDatabase) {
        self.handle = handle
        self.database = database
    }

    deinit { sqlite3_finalize(handle) }

    // SQLITE_TRANSIENT is a macro Swift cannot import: SQLite copies the bytes before the call
    // returns, so a Swift array's buffer need not outlive the bind.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    /// Steps once: true for a row, false when done.
    func step() throws -> Bool {
        let rc = sqlite3_step(handle)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let error = database.error(rc)
            sqlite3_reset(handle)
            throw error
        }
    }

    /// Ready for the next use; bindings cleared.
    func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    /// Binds, runs to completion, resets.
    func run(_ values: SQLiteValue...) throws {
        defer { reset() }
        for (i, value) in values.enumerated() { try bind(at: Int32(i + 1), value) }
        while try step() {}
    }

    /// Binds parameter `position` (from 1).
    func bind(at position: Int32, _ value: SQLiteValue) throws {
        let rc: Int32
        switch value {
        case .integer(let n):
            rc = sqlite3_bind_int64(handle, position, n)
        case .blob(let bytes) where bytes.isEmpty:
            // An empty blob, not NULL: empty reasoning is a value (product.md §1).
            rc = sqlite3_bind_zeroblob(handle, position, 0)
        case .blob(let bytes):
            rc = bytes.withUnsafeBytes { raw in
                sqlite3_bind_blob64(handle, position, raw.baseAddress, sqlite3_uint64(raw.count), Self.transient)
            }
        }
        guard rc == SQLITE_OK else { throw database.error(rc) }
    }

    func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }

    func blob(_ column: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(handle, column))
        guard count > 0, let pointer = sqlite3_column_blob(handle, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    /// A blob column's bytes where SQLite holds them: valid until the next step or reset.
    func blobBytes(_ column: Int32) -> UnsafeRawBufferPointer? {
        guard let pointer = sqlite3_column_blob(handle, column) else { return nil }
        return UnsafeRawBufferPointer(start: pointer, count: Int(sqlite3_column_bytes(handle, column)))
    }

    func text(_ column: Int32) -> String? {
        guard let pointer = sqlite3_column_text(handle, column) else { return nil }
        return String(cString: pointer)
    }
}

/// A statement parameter: thinkback stores integers and blobs only.
enum SQLiteValue {
    case integer(Int64)
    case blob([UInt8])
}
