import Foundation
import XCTest
import ThinkbackCore
@testable import ThinkbackRuntime
import ThinkbackTestSupport

/// Several SQLiteStores (connections, as several processes would have) on one file, group
/// commit, the write lock, the schema upgrade.
final class StoreSQLiteSharingTests: XCTestCase {
    private var directory = TemporaryDirectory()
    private var path: String { directory.path + "/reasoning.sqlite3" }
    private let keys = KeyBuilder(tenant: TenantID(secret: Array("sqlite".utf8), credential: Array("sk-a".utf8)))
    private let limits = StoreLimits(maxEntries: 1000, maxBytes: 1 << 20, timeToLiveMilliseconds: 60_000)

    override func tearDown() { directory.remove() }

    private func key(_ n: Int) -> CacheKey { keys.toolCallKey(id: Array("call_\(n)".utf8))! }

    private func lookup(_ store: any ReasoningStore, _ key: CacheKey) -> StoredReasoning? {
        var answer: StoredReasoning??
        store.lookup([key]) { answer = $0[0] }
        return answer ?? nil
    }

    private func value(_ text: String, _ clock: ManualStoreClock) -> StoredReasoning {
        StoredReasoning(text: Array(text.utf8), storedAtMilliseconds: clock.now)
    }

    /// Runs `loop` until `done()` holds or `seconds` pass, calling `tick` every millisecond;
    /// returns the longest gap between two ticks (how long the loop was kept from running).
    private func run(_ loop: EventLoop, seconds: Double, until done: @escaping () -> Bool = { false },
                     tick: @escaping (Date) -> Void = { _ in }) -> TimeInterval {
        let deadline = Date().addingTimeInterval(seconds)
        var last = Date()
        var longest: TimeInterval = 0
        var timer: LoopTimer?
        timer = LoopTimer(loop: loop) {
            let now = Date()
            longest = max(longest, now.timeIntervalSince(last))
            last = now
            tick(now)
            if done() || now > deadline { loop.stop() } else { timer?.arm(milliseconds: 1) }
        }
        timer?.arm(milliseconds: 0)
        loop.run()
        timer = nil
        return longest
    }

    func testInsertsThroughOneConnectionAreFoundThroughAnotherOnceCommitted() throws {
        let clock = ManualStoreClock()
        let a = try SQLiteStore(path: path, limits: limits, clock: clock)
        let b = try SQLiteStore(path: path, limits: limits, clock: clock)
        let thought = value("thought", clock)
        a.insert(thought, for: [key(1), key(2)])
        XCTAssertNil(lookup(b, key(1)), "queued, not committed")
        var committed: [Bool] = []
        a.whenCommitted { committed.append($0) }
        a.flush()
        XCTAssertEqual(committed, [true])
        XCTAssertEqual(lookup(b, key(1)), thought)
        XCTAssertEqual(lookup(b, key(2)), thought)
    }

    func testAKeyClaimedWithOtherReasoningThroughEachConnectionTurnsAmbiguousInBoth() throws {
        let clock = ManualStoreClock()
        let a = try SQLiteStore(path: path, limits: limits, clock: clock)
        let b = try SQLiteStore(path: path, limits: limits, clock: clock)
        // B as a process runs it: a hot tier in front, which learns from B's commit.
        let hot = MemoryStore(limits: limits, clock: clock)
        let tiered = TieredStore(hot: hot, cold: b)
        var reported: [[CacheKey]] = []
        b.observeAmbiguity { reported.append($0) }

        a.insert(value("A's reasoning", clock), for: [key(1), key(2)])
        a.flush()
        tiered.insert(value("B's reasoning", clock), for: [key(1), key(3)])
        XCTAssertEqual(tiered.lookupNow(key(1))?.text, Array("B's reasoning".utf8), "B's hot tier cannot know yet")
        b.flush()

        XCTAssertEqual(reported, [[key(1)]])
        XCTAssertEqual(b.statistics.ambiguous, 1)
        XCTAssertEqual(tiered.lookupNow(key(1))?.isAmbiguous, true, "the hot tier marks what B's commit found")
        XCTAssertEqual(lookup(a, key(1))?.isAmbiguous, true)
        XCTAssertEqual(lookup(b, key(1))?.isAmbiguous, true)
        XCTAssertEqual(lookup(a, key(2))?.text, Array("A's reasoning".utf8))
        XCTAssertEqual(lookup(a, key(3))?.text, Array("B's reasoning".utf8))

        // Once ambiguous, a capture through A does not take it back, nor is it counted again.
        a.insert(value("A's reasoning", clock), for: [key(1)])
        a.flush()
        XCTAssertEqual(lookup(b, key(1))?.isAmbiguous, true)
        XCTAssertEqual(a.statistics.ambiguous, 0)
    }

    func testAQueuedInsertAnswersTheMarkerWhenTheFileHoldsOtherReasoning() throws {
        let clock = ManualStoreClock()
        let a = try SQLiteStore(path: path, limits: limits, clock: clock)
        let b = try SQLiteStore(path: path, limits: limits, clock: clock)
        a.insert(value("A's reasoning", clock), for: [key(1)])
        a.flush()
        b.insert(value("B's reasoning", clock), for: [key(1)])
        XCTAssertEqual(lookup(b, key(1))?.isAmbiguous, true, "before B's transaction")
        b.insert(value("more", clock), for: [key(2)])
        b.insert(value("other", clock), for: [key(2)])
        XCTAssertEqual(lookup(b, key(2))?.isAmbiguous, true, "two queued inserts disagree")
    }

    func testTotalsAreSharedAndTheByteBoundHoldsWithTwoWriters() throws {
        let clock = ManualStoreClock()
        let text = [UInt8](repeating: 0x62, count: 1000)
        let perValue = StoredReasoning(text: text, storedAtMilliseconds: 0).accountedBytes(keyCount: 1)
        let bound = StoreLimits(maxEntries: 1000, maxBytes: 4 * perValue + perValue / 2, timeToLiveMilliseconds: 60_000)
        let a = try SQLiteStore(path: path, limits: bound, clock: clock)
        let b = try SQLiteStore(path: path, limits: bound, clock: clock)
        for n in 0..<10 {
            let writer = n % 2 == 0 ? a : b
            writer.insert(StoredReasoning(text: text, storedAtMilliseconds: clock.now), for: [key(n)])
            writer.flush()
            XCTAssertLessThanOrEqual(try a.database.integer("SELECT sum(bytes) FROM entries"), Int64(bound.maxBytes), "after \(n + 1) values")
        }
        // A transaction through each brings both to the file's totals.
        for store in [a, b] {
            store.removeExpired()
            store.flush()
        }
        XCTAssertEqual(a.statistics.entries, 4)
        XCTAssertEqual(b.statistics.entries, 4)
        XCTAssertEqual(a.statistics.bytes, b.statistics.bytes)
        XCTAssertEqual(a.statistics.bytes, Int(try a.database.integer("SELECT sum(bytes) FROM entries")))
        XCTAssertEqual(a.statistics.keys, 4)
        XCTAssertEqual(a.statistics.evictions + b.statistics.evictions, 6)
        XCTAssertEqual((0..<10).map { lookup(b, key($0)) != nil }, [false, false, false, false, false, false, true, true, true, true])
    }

    func testAnInsertWhileAnotherProcessHoldsTheWriteLockNeitherStallsTheLoopNorIsLost() throws {
        let loop = try EventLoop()
        let store = try SQLiteStore(path: path, limits: limits, loop: loop)
        store.flush()
        let other = try SQLiteDatabase(path: path)
        try other.exec("BEGIN IMMEDIATE")

        let thought = StoredReasoning(text: Array("waits for the lock".utf8), storedAtMilliseconds: SystemStoreClock().nowMilliseconds())
        var committed: [Bool] = []
        let started = Date()
        store.insert(thought, for: [key(1)])
        store.whenCommitted { committed.append($0) }
        XCTAssertLessThan(Date().timeIntervalSince(started), 0.1, "insert and whenCommitted return at once")

        // The lock stays taken for a second of the loop's time, then is released.
        var released = false
        let stalled = run(loop, seconds: 5, until: { !committed.isEmpty }) { now in
            if !released, now.timeIntervalSince(started) > 1 {
                XCTAssertEqual(committed, [], "not committed while the lock is held")
                try? other.exec("COMMIT")
                released = true
            }
        }
        XCTAssertTrue(released)
        XCTAssertEqual(committed, [true], "committed once the lock was released")
        XCTAssertLessThan(stalled, 0.25, "the loop kept running while the lock was held")
        XCTAssertFalse(store.statistics.degraded)
        let reader = try SQLiteStore(path: path, limits: limits)
        XCTAssertEqual(lookup(reader, key(1)), thought)
    }

    func testInsertsOfOneLoopTurnGoInOneTransaction() throws {
        let loop = try EventLoop()
        let store = try SQLiteStore(path: path, limits: limits, loop: loop)
        store.flush()
        let before = store.committedTransactions
        var committed: [Bool] = []
        let now = SystemStoreClock().nowMilliseconds()
        let turn = LoopTimer(loop: loop) {
            for n in 0..<20 {
                store.insert(StoredReasoning(text: [UInt8(n)], storedAtMilliseconds: now), for: [self.key(n)])
                store.whenCommitted { committed.append($0) }
            }
        }
        turn.arm(milliseconds: 0)
        _ = run(loop, seconds: 2, until: { committed.count == 20 })
        XCTAssertEqual(committed, [Bool](repeating: true, count: 20))
        XCTAssertEqual(store.committedTransactions - before, 1, "one transaction for the turn's twenty inserts")
        let reader = try SQLiteStore(path: path, limits: limits)
        XCTAssertEqual(lookup(reader, key(19))?.text, [19])
    }

    func testASchemaVersion1FileIsUpgradedKeepingItsValuesAndTotals() throws {
        let clock = ManualStoreClock()
        let old = value("written by version 1", clock)
        do {
            let store = try SQLiteStore(path: path, limits: limits, clock: clock)
            store.insert(old, for: [key(1), key(2)])
            store.insert(value("another", clock), for: [key(3)])
            store.flush()
            // What a version 1 file looks like: no totals (nor version 3's trigger).
            try store.database.exec("DROP TRIGGER entries_id_grows; DROP TABLE totals; PRAGMA user_version = 1")
        }
        let maxUsed = try SQLiteDatabase(path: path).integer("SELECT max(used) FROM entries")
        let store = try SQLiteStore(path: path, limits: limits, clock: clock)
        XCTAssertEqual(try store.database.integer("PRAGMA user_version"), SQLiteStore.schemaVersion)
        XCTAssertEqual(store.statistics.entries, 2)
        XCTAssertEqual(store.statistics.keys, 3)
        XCTAssertEqual(store.statistics.bytes, old.accountedBytes(keyCount: 2) + value("another", clock).accountedBytes(keyCount: 1))
        XCTAssertEqual(lookup(store, key(2)), old)
        store.insert(value("new", clock), for: [key(4)])
        store.flush()
        XCTAssertGreaterThan(try store.database.integer("SELECT used FROM entries WHERE text = CAST('new' AS BLOB)"), maxUsed,
                             "use stamps continue after the file's")
        XCTAssertEqual(store.statistics.entries, 3)
    }

    func testAWriterThatWouldReuseAnEntryIdFails() throws {
        let clock = ManualStoreClock()
        let store = try SQLiteStore(path: path, limits: limits, clock: clock)
        store.insert(value("one", clock), for: [key(1)])
        store.insert(value("two", clock), for: [key(2)])
        store.flush()
        // A writer of schema version 2 lets SQLite pick the id: the newest's, once deleted.
        try store.database.exec("BEGIN; DELETE FROM keys WHERE entry_id = (SELECT max(id) FROM entries); DELETE FROM entries WHERE id = (SELECT max(id) FROM entries)")
        XCTAssertThrowsError(try store.database.exec("INSERT INTO entries(text, format, stored_at, expires_at, used, key_count, bytes) VALUES (x'00', 0, 0, 0, 0, 0, 0)")) { error in
            XCTAssertTrue("\(error)".contains("entry id"), "\(error)")
        }
        try store.database.exec("ROLLBACK")
        XCTAssertEqual(try store.database.integer("SELECT last_id FROM totals"), 2)
    }

    func testAVersion2FileIsUpgradedAndItsKeysFound() throws {
        let clock = ManualStoreClock()
        do {
            let store = try SQLiteStore(path: path, limits: limits, clock: clock)
            store.insert(value("written by version 2", clock), for: [key(1), key(2)])
            store.insert(value("another", clock), for: [key(3)])
            store.flush()
            // What a version 2 file looks like.
            try store.database.exec("DROP TRIGGER entries_id_grows; ALTER TABLE totals DROP COLUMN last_id; PRAGMA user_version = 2")
        }
        let store = try SQLiteStore(path: path, limits: limits, clock: clock)
        XCTAssertEqual(try store.database.integer("PRAGMA user_version"), SQLiteStore.schemaVersion)
        XCTAssertEqual(try store.database.integer("SELECT last_id FROM totals"), 2)
        XCTAssertEqual(lookup(store, key(2))?.text, Array("written by version 2".utf8))
        XCTAssertEqual(lookup(store, key(3))?.text, Array("another".utf8))
        store.insert(value("new", clock), for: [key(4)])
        store.flush()
        XCTAssertEqual(try store.database.integer("SELECT entry_id FROM keys WHERE key = ?", key(4)), 3)
    }

    func testOpeningWaitsForAnotherProcessCreatingTheSchema() throws {
        // Another process's connection, released from another thread while this one opens.
        nonisolated(unsafe) let other = try SQLiteDatabase(path: path)
        try other.exec("PRAGMA journal_mode = WAL")
        try other.exec("BEGIN IMMEDIATE")
        let release = Thread {
            usleep(300_000)
            try? other.exec("COMMIT")
        }
        release.start()
        let store = try SQLiteStore(path: path, limits: limits)
        XCTAssertEqual(try store.database.integer("PRAGMA user_version"), SQLiteStore.schemaVersion)
    }
}

private extension SQLiteDatabase {
    func integer(_ sql: String, _ key: CacheKey) throws -> Int64 {
        let statement = try prepare(sql)
        try statement.bind(at: 1, .blob(key.bytes))
        guard try statement.step() else { return -1 }
        return statement.int64(0)
    }
}
