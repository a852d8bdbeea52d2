import CSQLite
import ThinkbackCore

/// The default store (product.md §5): one SQLite file that survives restarts.
///
/// Reads are synchronous point lookups on the loop thread: one key through the primary-key
/// index of `keys`, one row of `entries` by its rowid. Their time is bounded by the B-tree
/// depth and the value's size (a 200 KB value spans ~50 overflow pages): well under a
/// millisecond from the page cache, a few from a cold disk. They are made only for keys the
/// hot tier (`TieredStore`) does not have.
///
/// Writes never happen on the request path: `insert` queues the value (visible to lookups at
/// once), and the queue is written in one transaction per timer tick (`Options.batchInterval`)
/// or as soon as `Options.batchEntries` operations are waiting. Expiry sweeps and evictions
/// (oldest use first, until the byte bound holds) run in the same transactions, a bounded
/// number of rows at a time. `flush()` writes the queue out at once (on shutdown).
///
/// A failed transaction (disk full, file locked) drops that batch, counts a failure and
/// marks the store degraded until a later batch succeeds; the hot tier keeps serving.
///
/// The file is created mode 0600 (with its -wal and -shm files), in WAL mode with
/// `synchronous=NORMAL` (a power loss may lose the last batches, never corrupt the file),
/// and carries its schema version in `PRAGMA user_version`. Loop thread only.
public final class SQLiteStore: ReasoningStore {
    /// How writes are batched.
    public struct Options: Sendable {
        /// Milliseconds between write transactions while writes are waiting.
        public var batchIntervalMs: UInt64 = 50
        /// Waiting operations that start a transaction without waiting for the timer.
        public var batchEntries = 256
        /// Waiting bytes of reasoning that start a transaction without waiting for the timer
        /// (nil: half the WAL's size limit, so one transaction never swells the WAL far past it).
        public var batchBytes: Int?
        /// Expired values removed per transaction, at most.
        public var sweepRows = 512

        public init(batchIntervalMs: UInt64 = 50, batchEntries: Int = 256, batchBytes: Int? = nil) {
            self.batchIntervalMs = batchIntervalMs
            self.batchEntries = batchEntries
            self.batchBytes = batchBytes
        }
    }

    /// The schema this version reads and writes (`PRAGMA user_version`).
    public static let schemaVersion: Int64 = 1

    /// The bounds kept on disk: bytes (`--store-bytes`), entries, time-to-live.
    public let limits: StoreLimits
    public let path: String
    public internal(set) var statistics = StoreStatistics() // loop thread only
    /// Called (on the loop) when a transaction fails after succeeding before, and when the
    /// store recovers: the runtime logs one warning per outage. Never given keys or values.
    public var onHealthChange: ((_ failing: Bool, _ reason: String) -> Void)?

    let options: Options
    let clock: any StoreClock
    let database: SQLiteDatabase
    let sql: SQLiteStatements
    private var timer: LoopTimer?

    // loop thread only
    /// Operations waiting for the next transaction, in order.
    var queue: [SQLiteOperation] = []
    /// The newest queued value of each key: lookups see writes before they reach the file.
    var queuedByKey: [CacheKey: StoredReasoning] = [:]
    /// Use stamps: a value's stamp is set when inserted and on every hit; the lowest goes first.
    var nextUse: Int64 = 1
    var queuedBytes = 0
    var sweepWanted = false
    private var timerArmed = false
    private let batchBytes: Int

    /// Opens or creates the store at `path`. With a `loop`, queued writes go out on its timer;
    /// without one (unit tests) only when `batchEntries` are waiting or on `flush()`.
    public init(path: String, limits: StoreLimits, clock: any StoreClock = SystemStoreClock(),
                loop: EventLoop? = nil, options: Options = Options()) throws {
        self.path = path
        self.limits = limits
        self.clock = clock
        self.options = options
        database = try Self.open(path: path, walBytes: Self.walBytes(limits))
        batchBytes = options.batchBytes ?? Self.walBytes(limits) / 2
        sql = try SQLiteStatements(database)
        let totals = try sql.totals.withRow { ($0.int64(0), $0.int64(1), $0.int64(2), $0.int64(3)) }
        statistics.entries = Int(totals?.0 ?? 0)
        statistics.keys = Int(totals?.1 ?? 0)
        statistics.bytes = Int(totals?.2 ?? 0)
        nextUse = (totals?.3 ?? 0) + 1
        if let loop {
            timer = LoopTimer(loop: loop) { [unowned self] in
                self.timerArmed = false
                self.flush()
            }
        }
        // Limits may have shrunk since the file was written; expired values may be waiting.
        sweepWanted = true
        schedule()
    }

    // MARK: ReasoningStore

    /// Answers at once, before returning (synchronous point lookups; see the type's comment).
    public func lookup(_ keys: [CacheKey], completion: @escaping ([StoredReasoning?]) -> Void) {
        let now = clock.nowMilliseconds()
        completion(keys.map { find($0, now: now) })
    }

    /// Queues `value` under `keys`; see the type's comment.
    public func insert(_ value: StoredReasoning, for keys: [CacheKey]) {
        var unique: [CacheKey] = []
        for key in keys where !unique.contains(key) { unique.append(key) }
        guard !unique.isEmpty else { return }
        let expiresAt = expiry(of: value)
        guard expiresAt > clock.nowMilliseconds() else { return }
        guard value.accountedBytes(keyCount: unique.count) <= limits.maxBytes else {
            statistics.rejections += 1
            return
        }
        for key in unique { queuedByKey[key] = value }
        queuedBytes += value.text.count
        enqueue(.insert(value, keys: unique, expiresAt: expiresAt, use: takeUse()))
    }

    /// Asks the next transaction to sweep expired values.
    public func removeExpired() {
        sweepWanted = true
        schedule()
    }

    /// Writes every queued operation now, in one transaction.
    public func flush() {
        writeBatch()
    }

    // MARK: Internals

    private func find(_ key: CacheKey, now: UInt64) -> StoredReasoning? {
        if let queued = queuedByKey[key] {
            guard expiry(of: queued) > now else {
                statistics.misses += 1
                return nil
            }
            statistics.hits += 1
            return queued
        }
        let row: SQLiteRow?
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
        enqueue(.touch(entry: row.id, use: takeUse()))
        return StoredReasoning(text: row.text, format: ReasoningFormat(rawValue: row.format), storedAtMilliseconds: row.storedAt)
    }

    func expiry(of value: StoredReasoning) -> UInt64 {
        let (sum, overflow) = value.storedAtMilliseconds.addingReportingOverflow(limits.timeToLiveMilliseconds)
        // Stored as a signed 64-bit integer.
        return overflow ? UInt64(Int64.max) : min(sum, UInt64(Int64.max))
    }

    private func takeUse() -> Int64 {
        defer { nextUse += 1 }
        return nextUse
    }

    private func enqueue(_ operation: SQLiteOperation) {
        queue.append(operation)
        schedule()
    }

    /// Arms the batch timer, or writes at once when the batch is full and there is no loop.
    func schedule() {
        let full = queue.count >= options.batchEntries || queuedBytes >= batchBytes
        guard let timer else {
            if full { writeBatch() }
            return
        }
        if full {
            timer.arm(milliseconds: 0)
            timerArmed = true
        } else if !timerArmed {
            timer.arm(milliseconds: options.batchIntervalMs)
            timerArmed = true
        }
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

/// One queued write.
enum SQLiteOperation {
    case insert(StoredReasoning, keys: [CacheKey], expiresAt: UInt64, use: Int64)
    case touch(entry: Int64, use: Int64)
    case expire(entry: Int64)
}

struct SQLiteRow {
    var id: Int64
    var text: [UInt8]
    var format: UInt8
    var storedAt: UInt64
    var expiresAt: UInt64
}
