import CSQLite
import ThinkbackCore

/// The default store (product.md §5): one SQLite file that survives restarts, shared by every
/// process that opens it.
///
/// Reads are synchronous point lookups on the loop thread: one key through the primary-key
/// index of `keys`, one row of `entries` by its rowid. Their time is bounded by the B-tree
/// depth and the value's size (a 200 KB value spans ~50 overflow pages): well under a
/// millisecond from the page cache, a few from a cold disk. They are made only for keys the
/// hot tier (`TieredStore`) does not have, and only for keys the file may hold: a set of key
/// fingerprints in memory (`SQLiteStore+Filter.swift`) answers the others absent at once,
/// after one `PRAGMA data_version` per lookup tells whether another process committed since.
///
/// Writes never happen on the request path. `insert` queues the value (visible to lookups at
/// once) and everything inserted during one turn of the loop goes to the file in one
/// transaction at its end (group commit, product.md §1); `whenCommitted` calls back once that
/// transaction has committed. Lookup bookkeeping (use stamps, expired rows met) and expiry
/// sweeps join the next transaction, at most `Options.batchIntervalMs` later. Evictions
/// (oldest use first, until the byte bound holds) run in the same transactions.
///
/// Processes sharing the file (WAL) never wait for each other on the loop: a transaction that
/// finds the write lock taken keeps its queue and tries again 1 ms later, then 2, 4 … up to
/// `Options.lockRetryMaxMs`, for at most `Options.lockPatienceMs`. The bound's totals live in
/// the file (`totals`), read and written by every transaction, so every process counts the
/// same entries and bytes; the insert rule of `ReasoningStore.insert` (a key two different
/// captures claim turns ambiguous) is decided inside the transaction, against what the file
/// holds, and keys that turned ambiguous are reported to `observeAmbiguity`'s observers.
///
/// A failed transaction (disk full, the lock held past patience) drops that batch, counts a
/// failure and marks the store degraded until a later batch succeeds; the hot tier keeps
/// serving and `whenCommitted` answers false.
///
/// The file is created mode 0600 (with its -wal and -shm files), in WAL mode with
/// `synchronous=NORMAL` (a power loss may lose the last batches, never corrupt the file),
/// and carries its schema version in `PRAGMA user_version`. Loop thread only.
public final class SQLiteStore: ReasoningStore {
    /// How writes are batched and how long they wait for other processes.
    public struct Options: Sendable {
        /// Milliseconds lookup bookkeeping and sweeps wait for a transaction when no insert
        /// is queued.
        public var batchIntervalMs: UInt64 = 50
        /// Without a loop: queued operations that start a transaction at once.
        public var batchEntries = 256
        /// Without a loop: queued bytes of reasoning that start a transaction at once (nil:
        /// half the WAL's size limit, so one transaction never swells the WAL far past it).
        public var batchBytes: Int?
        /// Expired values removed per transaction, at most.
        public var sweepRows = 512
        /// The longest pause between two attempts at a write lock another process holds.
        public var lockRetryMaxMs: UInt64 = 50
        /// How long a batch may wait for a write lock another process holds before it counts
        /// as failed (and is dropped).
        public var lockPatienceMs: UInt64 = 5000
        /// How long opening the file (and `flush()` at shutdown) waits for other processes'
        /// locks: not on the request path.
        public var openLockWaitMs: Int32 = 10_000
        /// Keys the file has dropped that the key filter may still hold before it is rebuilt,
        /// at least (`SQLiteStore.staleAllowance`).
        var filterStaleFloor = 16_384
        /// Keys a filter rebuild reads per loop turn.
        var filterSliceKeys = 8192

        public init(batchIntervalMs: UInt64 = 50, batchEntries: Int = 256, batchBytes: Int? = nil) {
            self.batchIntervalMs = batchIntervalMs
            self.batchEntries = batchEntries
            self.batchBytes = batchBytes
        }
    }

    /// The schema this version reads and writes (`PRAGMA user_version`); version 1 and 2
    /// files are upgraded on open.
    public static let schemaVersion: Int64 = 3
    /// How long a lookup waits for a lock (WAL readers almost never meet one).
    static let readLockWaitMilliseconds: Int32 = 10

    /// The bounds kept on disk: bytes (`--store-bytes`), entries, time-to-live.
    public let limits: StoreLimits
    public let path: String
    /// Entries, keys and bytes are the file's, as of the last transaction this process ran (or
    /// the last time its key filter caught up with another process's commits).
    public internal(set) var statistics = StoreStatistics() // loop thread only
    /// Called (on the loop) when a transaction fails after succeeding before, and when the
    /// store recovers: the runtime logs one warning per outage. Never given keys or values.
    public var onHealthChange: ((_ failing: Bool, _ reason: String) -> Void)?

    let options: Options
    let clock: any StoreClock
    let database: SQLiteDatabase
    /// Checkpoints the WAL off the loop (`SQLiteCheckpointer`).
    let checkpointer: SQLiteCheckpointer
    let sql: SQLiteStatements
    let batchBytes: Int
    var timer: LoopTimer?

    // loop thread only
    /// Operations waiting for the next transaction, in order.
    var queue: [SQLiteOperation] = []
    /// What lookups answer for keys of queued inserts, by the insert rule among the queued
    /// inserts; `find` also checks the file.
    var queuedByKey: [CacheKey: StoredReasoning] = [:]
    /// Tenants whose `clear` is queued (all of them: `clearingAll`): the file still holds their
    /// values until it commits, lookups answer them absent meanwhile.
    var clearing: Set<TenantID> = []
    var clearingAll = false
    var queuedInserts = 0
    var queuedBytes = 0
    var sweepWanted = false
    /// Called with the outcome of the transaction that writes the queued inserts.
    var waiters: [(Bool) -> Void] = []
    var ambiguityObservers: [([CacheKey]) -> Void] = []
    /// The delay the timer is armed with, nil when it is not.
    var armedMilliseconds: UInt64?
    /// The pause before the next attempt at a lock another process holds (0: not waiting).
    var lockRetryMs: UInt64 = 0
    var lockWaitedMs: UInt64 = 0
    /// Transactions committed (tests count them).
    var committedTransactions = 0

    /// Fingerprints of every key the file may hold: keys read from the file at open, keys this
    /// process inserts, keys other processes committed since (`SQLiteStore+Filter.swift`).
    var filter = KeyFingerprintSet()
    /// The largest entry id whose keys `filter` holds (entry ids only grow: schema version 3).
    var filterWatermark: Int64 = 0
    /// `PRAGMA data_version` when `filter` last caught up with other connections' commits.
    var filterDataVersion: Int64 = 0
    /// The set that replaces `filter` once it has read every key of the file, a slice per
    /// loop turn, when `filter` holds too many keys the file has dropped.
    var filterRebuild: SQLiteFilterRebuild?
    var rebuildTimer: LoopTimer?
    /// What the filter saved and cost.
    public internal(set) var filterStatistics = SQLiteFilterStatistics() // loop thread only

    /// Opens or creates the store at `path`. With a `loop`, queued writes go out at the end of
    /// the loop turn that queued them; without one (unit tests) when `batchEntries` are
    /// waiting or on `flush()`.
    public init(path: String, limits: StoreLimits, clock: any StoreClock = SystemStoreClock(),
                loop: EventLoop? = nil, options: Options = Options()) throws {
        self.path = path
        self.limits = limits
        self.clock = clock
        self.options = options
        database = try Self.open(path: path, walBytes: Self.walBytes(limits), lockWaitMilliseconds: options.openLockWaitMs)
        batchBytes = options.batchBytes ?? Self.walBytes(limits) / 2
        sql = try SQLiteStatements(database)
        checkpointer = SQLiteCheckpointer(path: path, thresholdPages: Int32(max(Self.walBytes(limits) / 4096, 16)))
        checkpointer.watch(database)
        try readTotals()
        try loadFilter()
        database.lockWaitMilliseconds = Self.readLockWaitMilliseconds
        if let loop {
            timer = LoopTimer(loop: loop) { [unowned self] in self.timerFired() }
            rebuildTimer = LoopTimer(loop: loop) { [unowned self] in self.rebuildFilterSlice() }
        }
        // Limits may have shrunk since the file was written; expired values may be waiting.
        sweepWanted = true
        schedule()
    }

    deinit {
        checkpointer.unwatch(database)
        checkpointer.stop()
    }

    // MARK: ReasoningStore

    /// Answers at once, before returning (synchronous point lookups; see the type's comment).
    public func lookup(_ keys: [CacheKey], completion: @escaping ([StoredReasoning?]) -> Void) {
        let now = clock.nowMilliseconds()
        var caughtUp: Bool?
        completion(keys.map { key in
            if queuedByKey[key] == nil, clearingAll || clearing.contains(key.tenant) || !mayHold(key, caughtUp: &caughtUp) {
                statistics.misses += 1
                filterStatistics.absentWithoutLookup += 1
                return nil
            }
            return find(key, now: now)
        })
    }

    /// Queues `value` under `keys` for the transaction at the end of this loop turn.
    public func insert(_ value: StoredReasoning, for keys: [CacheKey]) {
        var unique: [CacheKey] = []
        for key in keys where !unique.contains(key) { unique.append(key) }
        guard !unique.isEmpty else { return }
        let expiresAt = expiry(of: value)
        let now = clock.nowMilliseconds()
        guard expiresAt > now else { return }
        guard value.accountedBytes(keyCount: unique.count) <= limits.maxBytes else {
            statistics.rejections += 1
            return
        }
        for key in unique {
            // The insert rule among queued inserts; the transaction applies it to the file.
            if value.isAmbiguous {
                queuedByKey[key] = value
            } else if let queued = queuedByKey[key], expiry(of: queued) > now, !queued.restoresLike(value) {
                queuedByKey[key] = .ambiguityMarker(storedAtMilliseconds: value.storedAtMilliseconds)
            } else {
                queuedByKey[key] = value
            }
        }
        queuedBytes += value.text.count
        queuedInserts += 1
        for key in unique { addToFilter(key.fingerprint) }
        enqueue(.insert(value, keys: unique, expiresAt: expiresAt))
    }

    /// Queues the deletion of `tenant`'s values (all for nil) for the next transaction, and
    /// answers once it committed. Queued inserts of that tenant are applied first, then
    /// deleted with the rest; lookups stop finding them at once.
    public func clear(tenant: TenantID?, completion: @escaping (Bool) -> Void) {
        queuedByKey = queuedByKey.filter { tenant != nil && $0.key.tenant != tenant }
        if let tenant { clearing.insert(tenant) } else { clearingAll = true }
        enqueue(.clear(tenant: tenant))
        queuedInserts += 1
        waiters.append(completion)
        schedule()
    }

    /// Calls back when the transaction holding every queued insert has committed (true) or
    /// failed (false); at once with nothing queued.
    public func whenCommitted(_ completion: @escaping (Bool) -> Void) {
        guard queuedInserts > 0 else { return completion(true) }
        waiters.append(completion)
    }

    /// `observer` learns of keys this store's transactions made ambiguous.
    public func observeAmbiguity(_ observer: @escaping ([CacheKey]) -> Void) {
        ambiguityObservers.append(observer)
    }

    /// Asks the next transaction to sweep expired values.
    public func removeExpired() {
        sweepWanted = true
        schedule()
    }

    /// Writes every queued operation now, in one transaction, waiting for other processes'
    /// locks if need be (at shutdown, once the loop has stopped; in tests).
    public func flush() {
        commit(waitingForLock: true)
    }

    // MARK: Internals

    private func find(_ key: CacheKey, now: UInt64) -> StoredReasoning? {
        if let queued = queuedByKey[key] {
            guard expiry(of: queued) > now else {
                statistics.misses += 1
                return nil
            }
            statistics.hits += 1
            // The file may hold another value for the key (an earlier batch, another process):
            // then the transaction will make it ambiguous, and so does the answer now.
            guard !queued.isAmbiguous else { return queued }
            filterStatistics.fileLookups += 1
            if let held = try? holding(key, like: queued, now: now), held.restoresOther {
                return .ambiguityMarker(storedAtMilliseconds: queued.storedAtMilliseconds)
            }
            return queued
        }
        let row: SQLiteRow?
        filterStatistics.fileLookups += 1
        do {
            row = try sql.find.withRow(.blob(key.bytes)) { r in
                SQLiteRow(id: r.int64(0), text: r.blob(1), format: UInt8(truncatingIfNeeded: r.int64(2)),
                          storedAt: UInt64(bitPattern: r.int64(3)), expiresAt: UInt64(bitPattern: r.int64(4)))
            }
        } catch {
            statistics.misses += 1
            failed(error)
            return nil
        }
        guard let row else {
            statistics.misses += 1
            return nil
        }
        guard row.expiresAt > now else {
            statistics.misses += 1
            enqueue(.expire(entry: row.id))
            return nil
        }
        statistics.hits += 1
        enqueue(.touch(entry: row.id))
        return StoredReasoning(text: row.text, format: ReasoningFormat(rawValue: row.format), storedAtMilliseconds: row.storedAt)
    }

    func expiry(of value: StoredReasoning) -> UInt64 {
        let (sum, overflow) = value.storedAtMilliseconds.addingReportingOverflow(limits.timeToLiveMilliseconds)
        // Stored as a signed 64-bit integer.
        return overflow ? UInt64(Int64.max) : min(sum, UInt64(Int64.max))
    }

    private func enqueue(_ operation: SQLiteOperation) {
        queue.append(operation)
        schedule()
    }

    func failed(_ error: Error) {
        statistics.failures += 1
        if !statistics.degraded {
            statistics.degraded = true
            onHealthChange?(true, "\(error)")
        }
    }

    func succeeded() {
        if statistics.degraded {
            statistics.degraded = false
            onHealthChange?(false, "")
        }
    }
}

/// One queued write. Use stamps are given in queue order inside the transaction, after the
/// last stamp any process wrote.
enum SQLiteOperation {
    case insert(StoredReasoning, keys: [CacheKey], expiresAt: UInt64)
    case touch(entry: Int64)
    case expire(entry: Int64)
    /// `POST /admin/cache/clear`: every value of a tenant, or of all (nil).
    case clear(tenant: TenantID?)
}

struct SQLiteRow {
    var id: Int64
    var text: [UInt8]
    var format: UInt8
    var storedAt: UInt64
    var expiresAt: UInt64
}
