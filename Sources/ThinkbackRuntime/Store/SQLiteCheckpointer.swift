import CLibEvent
import CSQLite
#if canImport(Glibc)
import Glibc
#endif

/// Checkpoints the SQLite store's WAL on a thread of its own, through a connection of its own,
/// so that the loop never waits for it.
///
/// With `synchronous = NORMAL` a WAL commit is a write into the page cache; the checkpoint is
/// where SQLite copies the WAL back into the database file and calls fsync, twice — tens of
/// milliseconds on a busy disk. SQLite's automatic checkpoint would run it inside the commit
/// that crossed the threshold, on the loop, holding up every request of that turn. Instead the
/// loop's connection reports each commit's WAL size (`sqlite3_wal_hook`), and past the
/// threshold this thread runs a PASSIVE checkpoint, which never blocks the loop's readers or
/// its writer. The WAL is restarted (and cut back to `journal_size_limit`) by the next write
/// once a checkpoint has caught up.
///
/// A passive checkpoint restarts the WAL only if it caught up before the next write; under
/// writes that never pause it may not, so the WAL is bounded on the loop too: this thread is
/// asked at half the threshold, and a commit that still leaves the whole threshold in the WAL
/// checkpoints inline, as SQLite's own automatic checkpoint would (rare: only while this
/// thread cannot keep up) — waiting, at twice the threshold, for a checkpoint this thread is
/// running to let go of SQLite's checkpoint lock.
///
/// Nothing of the loop's is touched here: the only shared state is the request flag, under a
/// mutex.
final class SQLiteCheckpointer: @unchecked Sendable {
    private let path: String
    private let thresholdPages: Int32
    // Allocated: a pthread object must not move, which a stored property may.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var wanted = false      // guarded by mutex
    private var stopping = false    // guarded by mutex
    private var completed = 0       // guarded by mutex
    private var inlineWaits = 0     // guarded by mutex
    private var thread: pthread_t?

    /// Starts the thread; checkpoints `path` once a commit leaves half of `thresholdPages` in
    /// the WAL (the loop does it itself at `thresholdPages`).
    init(path: String, thresholdPages: Int32) {
        self.path = path
        self.thresholdPages = max(thresholdPages, 1)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
        var t = pthread_t()
        // The thread holds the checkpointer until it ends (released in `stop`).
        let context = Unmanaged.passRetained(self).toOpaque()
        if pthread_create(&t, nil, { ctx in
            Unmanaged<SQLiteCheckpointer>.fromOpaque(ctx!).takeUnretainedValue().run()
            return nil
        }, context) == 0 {
            thread = t
        } else {
            Unmanaged<SQLiteCheckpointer>.fromOpaque(context).release()
        }
    }

    /// Attaches to the loop's connection: its commits report their WAL size here.
    func watch(_ database: SQLiteDatabase) {
        sqlite3_wal_hook(database.handle, { ctx, db, _, pages in
            let me = Unmanaged<SQLiteCheckpointer>.fromOpaque(ctx!).takeUnretainedValue()
            if pages >= me.thresholdPages {
                me.checkpointInline(db, pages: pages)
            } else if pages >= me.thresholdPages / 2 {
                me.request()
            }
            return SQLITE_OK
        }, Unmanaged.passUnretained(self).toOpaque())
    }

    /// The loop's own checkpoint, once the WAL holds the whole threshold. A checkpoint this
    /// thread is running holds SQLite's checkpoint lock, and then a passive checkpoint does
    /// nothing (SQLITE_BUSY, no busy handler is ever called for that lock): the WAL would go on
    /// growing for as long as writes outrun the thread. At twice the threshold the loop waits
    /// for the lock — a millisecond at a time, at most `inlineWaitMs` — as SQLite's own
    /// automatic checkpoint would make it wait for the checkpoint itself.
    private func checkpointInline(_ db: OpaquePointer?, pages: Int32) {
        var rc = sqlite3_wal_checkpoint_v2(db, nil, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
        guard rc == SQLITE_BUSY, pages >= thresholdPages * 2 else { return }
        var waited = 0
        while rc == SQLITE_BUSY && waited < Self.inlineWaitMs {
            usleep(1000)
            waited += 1
            rc = sqlite3_wal_checkpoint_v2(db, nil, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
        }
        pthread_mutex_lock(mutex)
        inlineWaits += 1
        pthread_mutex_unlock(mutex)
    }

    /// The longest the loop waits for this thread's checkpoint to let go of the lock.
    static let inlineWaitMs = 200

    /// Times the loop waited for this thread's checkpoint (tests).
    var inlineWaitCount: Int {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return inlineWaits
    }

    /// Detaches from the loop's connection (before it or this is freed).
    func unwatch(_ database: SQLiteDatabase) {
        sqlite3_wal_hook(database.handle, nil, nil)
    }

    /// Asks for a checkpoint; never waits.
    func request() {
        pthread_mutex_lock(mutex)
        wanted = true
        pthread_cond_signal(condition)
        pthread_mutex_unlock(mutex)
    }

    /// Checkpoints that copied pages back into the database file so far (tests).
    var checkpointsCompleted: Int {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return completed
    }

    /// Ends the thread after the checkpoint it may be running, and waits for it.
    func stop() {
        guard let t = thread else { return }
        thread = nil
        pthread_mutex_lock(mutex)
        stopping = true
        pthread_cond_signal(condition)
        pthread_mutex_unlock(mutex)
        pthread_join(t, nil)
        Unmanaged.passUnretained(self).release()
    }

    /// The thread's nice value (the loop's is the process's, usually 0).
    static let niceness: Int32 = 10

    private func run() {
        // Below the loop: where both share a core (a pinned or a small machine), a checkpoint
        // must not hold up the requests it is not urgent for. Linux nice is per thread.
        cle_thread_set_nice(Self.niceness)
        var db: OpaquePointer?
        guard sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nil) == SQLITE_OK, let db else {
            if let db { sqlite3_close_v2(db) }
            return
        }
        // Another process's checkpoint or recovery: wait a little (this thread may wait).
        sqlite3_busy_timeout(db, 200)
        // A connection learns that the file is in WAL mode only when it first reads it; until
        // then a checkpoint through it is a silent no-op.
        sqlite3_exec(db, "SELECT count(*) FROM sqlite_master", nil, nil, nil)
        while true {
            pthread_mutex_lock(mutex)
            while !wanted && !stopping { pthread_cond_wait(condition, mutex) }
            let go = wanted && !stopping
            wanted = false
            pthread_mutex_unlock(mutex)
            guard go else { break }
            var walFrames: Int32 = 0
            var copied: Int32 = 0
            let rc = sqlite3_wal_checkpoint_v2(db, nil, SQLITE_CHECKPOINT_PASSIVE, &walFrames, &copied)
            pthread_mutex_lock(mutex)
            if rc == SQLITE_OK && copied > 0 { completed += 1 }
            pthread_mutex_unlock(mutex)
        }
        sqlite3_close_v2(db)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }
}
