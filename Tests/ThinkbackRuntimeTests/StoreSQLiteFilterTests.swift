import Foundation
import XCTest
import ThinkbackCore
@testable import ThinkbackRuntime
import ThinkbackTestSupport

/// The SQLite store's key filter (issue 18): a key the file cannot hold is answered absent
/// without asking SQLite, and a key the file holds never is, whoever committed it and whatever
/// the file dropped since.
final class StoreSQLiteFilterTests: XCTestCase {
    private var directory = TemporaryDirectory()
    private var path: String { directory.path + "/reasoning.sqlite3" }
    private let keys = KeyBuilder(tenant: TenantID(secret: Array("filter".utf8), credential: Array("sk-a".utf8)))
    private let limits = StoreLimits(maxEntries: 100_000, maxBytes: 1 << 26, timeToLiveMilliseconds: 60_000)

    override func tearDown() { directory.remove() }

    private func key(_ n: Int) -> CacheKey { keys.toolCallKey(id: Array("call_\(n)".utf8))! }

    private func lookup(_ store: any ReasoningStore, _ keys: [CacheKey]) -> [StoredReasoning?] {
        var answer: [StoredReasoning?] = []
        store.lookup(keys) { answer = $0 }
        return answer
    }

    private func lookup(_ store: any ReasoningStore, _ key: CacheKey) -> StoredReasoning? {
        lookup(store, [key])[0]
    }

    private func value(_ text: String, _ clock: ManualStoreClock) -> StoredReasoning {
        StoredReasoning(text: Array(text.utf8), storedAtMilliseconds: clock.now)
    }

    func testKeysTheFileDoesNotHoldAreAnsweredWithoutAskingIt() throws {
        let clock = ManualStoreClock()
        do {
            let writer = try SQLiteStore(path: path, limits: limits, clock: clock)
            for n in 0..<100 { writer.insert(value("thought \(n)", clock), for: [key(n)]) }
            writer.flush()
        }
        let store = try SQLiteStore(path: path, limits: limits, clock: clock)
        XCTAssertEqual(store.filterStatistics.keys, 100, "read at open")
        let absent = (1000..<1060).map(key)
        XCTAssertEqual(lookup(store, absent).compactMap { $0 }.count, 0)
        XCTAssertEqual(store.filterStatistics.fileLookups, 0)
        XCTAssertEqual(store.filterStatistics.absentWithoutLookup, 60)
        XCTAssertEqual(store.statistics.misses, 60)
        XCTAssertEqual(store.filterStatistics.catchUps, 0, "nobody committed since the open")

        XCTAssertEqual(lookup(store, key(7))?.text, Array("thought 7".utf8))
        XCTAssertEqual(store.filterStatistics.fileLookups, 1, "a key the file holds is asked of it")
    }

    func testAKeyThisProcessInsertedIsFoundWithoutACatchUp() throws {
        let clock = ManualStoreClock()
        let store = try SQLiteStore(path: path, limits: limits, clock: clock)
        store.insert(value("mine", clock), for: [key(1), key(2)])
        store.flush()
        // Its own commit does not change its data_version: the keys were added at insert.
        XCTAssertEqual(lookup(store, key(2))?.text, Array("mine".utf8))
        XCTAssertEqual(store.filterStatistics.catchUps, 0)
        XCTAssertNil(lookup(store, key(3)))
        XCTAssertEqual(store.filterStatistics.fileLookups, 1)
    }

    func testAKeyCommittedThroughAnotherConnectionIsFoundOnTheNextLookup() throws {
        let clock = ManualStoreClock()
        let a = try SQLiteStore(path: path, limits: limits, clock: clock)
        let b = try SQLiteStore(path: path, limits: limits, clock: clock)
        XCTAssertNil(lookup(b, key(1)))
        XCTAssertEqual(b.filterStatistics.fileLookups, 0)

        a.insert(value("from A", clock), for: [key(1), key(2)])
        a.flush()
        XCTAssertEqual(lookup(b, key(1))?.text, Array("from A".utf8), "the very next lookup")
        XCTAssertEqual(b.filterStatistics.catchUps, 1)
        XCTAssertEqual(lookup(b, key(2))?.text, Array("from A".utf8))

        // Nothing committed since: misses are answered from memory, no catch-up.
        let before = b.filterStatistics
        XCTAssertNil(lookup(b, key(3)))
        XCTAssertEqual(b.filterStatistics.catchUps, before.catchUps)
        XCTAssertEqual(b.filterStatistics.fileLookups, before.fileLookups)
    }

    func testAKeyCommittedByAnotherProcessThroughATieredStoreIsFound() throws {
        // As a process runs it: a hot tier in front of each connection.
        let clock = ManualStoreClock()
        let a = TieredStore(hot: MemoryStore(limits: limits, clock: clock), cold: try SQLiteStore(path: path, limits: limits, clock: clock))
        let bCold = try SQLiteStore(path: path, limits: limits, clock: clock)
        let b = TieredStore(hot: MemoryStore(limits: limits, clock: clock), cold: bCold)
        XCTAssertEqual(lookup(b, [key(1), key(2), key(3)]).compactMap { $0 }.count, 0)
        a.insert(value("captured by A", clock), for: [key(1), key(2)])
        a.flush()
        XCTAssertEqual(lookup(b, [key(3), key(2)]).map { $0?.text }, [nil, Array("captured by A".utf8)])
        XCTAssertEqual(bCold.filterStatistics.fileLookups, 1, "only the key A committed was asked of the file")
    }

    /// Without ids that only grow, another process could delete the newest entry and reuse its
    /// id for a new key: a catch-up reading entries above the last id seen would miss it.
    func testAKeyCommittedUnderANewEntryAfterTheNewestWasDeletedIsFound() throws {
        let clock = ManualStoreClock()
        let a = try SQLiteStore(path: path, limits: limits, clock: clock)
        a.insert(value("older, lives longer", clock), for: [key(1)])
        clock.advance(by: 10_000)
        a.insert(value("", clock), for: [key(2)])
        a.flush()
        // Entry 1 (key 1) stored 10 s before entry 2 (key 2); make key 2's entry expire first
        // by rewriting its stamp, as a shorter time-to-live elsewhere would.
        try a.database.exec("UPDATE entries SET stored_at = stored_at - 50000, expires_at = expires_at - 50000 WHERE id = (SELECT max(id) FROM entries)")
        let b = try SQLiteStore(path: path, limits: limits, clock: clock)
        XCTAssertEqual(b.filterWatermark, try b.database.integer("SELECT max(id) FROM entries"))

        clock.advance(by: 15_000)
        a.removeExpired()
        a.flush() // the newest entry expires and is deleted
        XCTAssertEqual(try a.database.integer("SELECT count(*) FROM entries"), 1)
        a.insert(value("new", clock), for: [key(3)])
        a.flush()
        XCTAssertGreaterThan(try a.database.integer("SELECT max(id) FROM entries"), b.filterWatermark, "a new id, not the deleted one's")
        XCTAssertEqual(lookup(b, key(3))?.text, Array("new".utf8))
        XCTAssertNil(lookup(b, key(2)))
    }

    func testKeysTheFileDroppedAreStillAnsweredRightAndTheFilterIsRebuilt() throws {
        let clock = ManualStoreClock()
        // Room for 20 values; a rebuild once 50 dropped keys are held beyond half the file's.
        var options = SQLiteStore.Options(batchEntries: 10)
        options.filterStaleFloor = 50
        let store = try SQLiteStore(path: path, limits: StoreLimits(maxEntries: 20, maxBytes: 1 << 20, timeToLiveMilliseconds: 60_000),
                                    clock: clock, options: options)
        for n in 0..<60 { store.insert(value("x", clock), for: [key(n)]) }
        store.flush()
        XCTAssertEqual(store.statistics.keys, 20)
        XCTAssertEqual(store.statistics.evictions, 40)
        XCTAssertEqual(store.filterStatistics.rebuilds, 0, "40 dropped keys held: within the allowance")
        XCTAssertEqual(store.filterStatistics.keys, 60)

        // Dropped keys still in the filter: asked of the file, which answers absent.
        let fileLookups = store.filterStatistics.fileLookups
        XCTAssertEqual(lookup(store, (0..<40).map(key)).compactMap { $0 }.count, 0)
        XCTAssertEqual(store.filterStatistics.fileLookups - fileLookups, 40)
        XCTAssertEqual(lookup(store, (40..<60).map(key)).compactMap { $0 }.count, 20)

        // Ten more: 80 keys held, 20 in the file, more than 20 + 50: rebuilt from the file
        // (keys 60..<80), then twenty more inserted (80..<100).
        for n in 60..<100 { store.insert(value("x", clock), for: [key(n)]) }
        store.flush()
        XCTAssertEqual(store.filterStatistics.rebuilds, 1)
        XCTAssertEqual(store.filterStatistics.keys, 40)
        let afterRebuild = store.filterStatistics.fileLookups
        XCTAssertEqual(lookup(store, (0..<60).map(key)).compactMap { $0 }.count, 0)
        XCTAssertEqual(store.filterStatistics.fileLookups, afterRebuild, "keys dropped before the rebuild no longer reach the file")
        XCTAssertEqual(lookup(store, (60..<80).map(key)).compactMap { $0 }.count, 0)
        XCTAssertEqual(store.filterStatistics.fileLookups, afterRebuild + 20, "dropped since")
        XCTAssertEqual(lookup(store, (80..<100).map(key)).compactMap { $0 }.count, 20)
    }

    func testAKeyCommittedWhileTheFilterIsRebuiltSliceBySliceIsFound() throws {
        let clock = ManualStoreClock()
        let loop = try EventLoop()
        var options = SQLiteStore.Options()
        options.filterStaleFloor = 100
        options.filterSliceKeys = 50
        let store = try SQLiteStore(path: path, limits: StoreLimits(maxEntries: 300, maxBytes: 1 << 24, timeToLiveMilliseconds: 60_000),
                                    clock: clock, loop: loop, options: options)
        let other = try SQLiteStore(path: path, limits: limits, clock: clock)
        var captured = false
        var rebuildSeen = false
        var found: [StoredReasoning?] = []
        let turn = LoopTimer(loop: loop) {
            for n in 0..<600 { store.insert(self.value("x", clock), for: [self.key(n)]) }
        }
        turn.arm(milliseconds: 0)
        var timer: LoopTimer?
        let deadline = Date().addingTimeInterval(10)
        timer = LoopTimer(loop: loop) {
            if store.filterRebuild != nil { rebuildSeen = true }
            // While the rebuild is under way: another process commits a key, and this one
            // looks it up (catching up adds it to both sets).
            if store.filterRebuild != nil, !captured {
                other.insert(self.value("during the rebuild", clock), for: [self.key(10_000)])
                other.flush()
                captured = true
                XCTAssertEqual(self.lookup(store, self.key(10_000))?.text, Array("during the rebuild".utf8))
            }
            if store.filterStatistics.rebuilds > 0 || Date() > deadline {
                found = self.lookup(store, [self.key(10_000), self.key(599), self.key(0)])
                loop.stop()
            } else {
                timer?.arm(milliseconds: 1)
            }
        }
        timer?.arm(milliseconds: 1)
        loop.run()
        XCTAssertTrue(rebuildSeen)
        XCTAssertEqual(store.filterStatistics.rebuilds, 1)
        XCTAssertEqual(found.map { $0?.text }, [Array("during the rebuild".utf8), Array("x".utf8), nil])
        XCTAssertEqual(store.filterStatistics.keys, 301, "the file's 300 keys and the one committed meanwhile")
    }
}
