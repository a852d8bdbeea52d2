import Foundation
import XCTest
import ThinkbackCore
@testable import ThinkbackRuntime
import ThinkbackTestSupport

/// A fresh directory under the system's temporary directory, removed by `remove()`.
struct TemporaryDirectory {
    let path: String

    init() {
        path = NSTemporaryDirectory() + "thinkback-store-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// SQLiteStore against the contract every store keeps (StoreConformance.swift); `settle`
/// writes the pending batch, as the loop's timer would.
final class StoreSQLiteConformanceTests: XCTestCase {
    private var directory = TemporaryDirectory()
    private lazy var conformance = StoreConformance { [directory] clock, limits in
        let store = try! SQLiteStore(path: directory.path + "/\(UUID().uuidString).sqlite3", limits: limits, clock: clock)
        return StoreUnderTest(store: store, settle: { store.flush() })
    }

    override func tearDown() { directory.remove() }

    func testLookupReturnsWhatWasInserted() { conformance.checkLookupReturnsWhatWasInserted() }
    func testEmptyReasoningIsAHit() { conformance.checkEmptyReasoningIsAHit() }
    func testOneValueUnderSeveralKeys() { conformance.checkOneValueUnderSeveralKeys() }
    func testBytesAreCountedOncePerValue() { conformance.checkBytesAreCountedOncePerValue() }
    func testDuplicateKeysInOneInsertCountOnce() { conformance.checkDuplicateKeysInOneInsertCountOnce() }
    func testInsertWithoutKeysStoresNothing() { conformance.checkInsertWithoutKeysStoresNothing() }
    func testReinsertingAKeyWithOtherReasoningMakesItAmbiguous() { conformance.checkReinsertingAKeyWithOtherReasoningMakesItAmbiguous() }
    func testReinsertingTheSameReasoningKeepsTheKey() { conformance.checkReinsertingTheSameReasoningKeepsTheKey() }
    func testAmbiguityTouchesOnlyTheConflictingKey() { conformance.checkAmbiguityTouchesOnlyTheConflictingKey() }
    func testAmbiguousKeyStaysAmbiguousUntilItExpires() { conformance.checkAmbiguousKeyStaysAmbiguousUntilItExpires() }
    func testAnExpiredValueDoesNotConflict() { conformance.checkAnExpiredValueDoesNotConflict() }
    func testWhenCommittedCallsBackOnceAfterTheInserts() { conformance.checkWhenCommittedCallsBackOnceAfterTheInserts() }
    func testExpiredValueIsAMiss() { conformance.checkExpiredValueIsAMiss() }
    func testTimeToLiveCountsFromStoredAt() { conformance.checkTimeToLiveCountsFromStoredAt() }
    func testAlreadyExpiredValueIsNotStored() { conformance.checkAlreadyExpiredValueIsNotStored() }
    func testRemoveExpiredDropsOnlyExpiredValues() { conformance.checkRemoveExpiredDropsOnlyExpiredValues() }
    func testEntryBound() { conformance.checkEntryBound() }
    func testByteBound() { conformance.checkByteBound() }
    func testOversizedValueIsRejected() { conformance.checkOversizedValueIsRejected() }
    func testEvictionDropsAllKeysOfAValue() { conformance.checkEvictionDropsAllKeysOfAValue() }
    func testLeastRecentlyUsedIsEvictedFirst() { conformance.checkLeastRecentlyUsedIsEvictedFirst() }
    func testHitByAnyKeyRefreshesTheValue() { conformance.checkHitByAnyKeyRefreshesTheValue() }
    func testTenantsNeverShareEntries() { conformance.checkTenantsNeverShareEntries() }
    func testStatisticsCountHitsMissesAndExpirations() { conformance.checkStatisticsCountHitsMissesAndExpirations() }
    func testLookupNowAgreesWithLookup() { conformance.checkLookupNowAgreesWithLookup() }
    func testSingleKeyConveniences() { conformance.checkSingleKeyConveniences() }
}

/// What only the SQLite store promises: the file, its durability, its bounds.
final class StoreSQLiteTests: XCTestCase {
    private var directory = TemporaryDirectory()
    private var path: String { directory.path + "/reasoning.sqlite3" }
    private let keys = KeyBuilder(tenant: TenantID(secret: Array("sqlite".utf8), credential: Array("sk-a".utf8)))
    private let limits = StoreLimits(maxEntries: 1000, maxBytes: 1 << 20, timeToLiveMilliseconds: 60_000)

    override func tearDown() { directory.remove() }

    private func key(_ n: Int) -> CacheKey { keys.toolCallKey(id: Array("call_\(n)".utf8))! }

    private func lookup(_ store: SQLiteStore, _ key: CacheKey) -> StoredReasoning? {
        var answer: StoredReasoning??
        store.lookup([key]) { answer = $0[0] }
        return answer ?? nil
    }

    func testValuesSurviveClosingAndReopening() throws {
        let clock = ManualStoreClock()
        let value = StoredReasoning(text: Array("thought 北京\u{0}".utf8), format: .anthropicThinking, storedAtMilliseconds: clock.now)
        do {
            let store = try SQLiteStore(path: path, limits: limits, clock: clock)
            store.insert(value, for: [key(1), key(2)])
            store.flush()
        }
        let reopened = try SQLiteStore(path: path, limits: limits, clock: clock)
        XCTAssertEqual(lookup(reopened, key(1)), value)
        XCTAssertEqual(lookup(reopened, key(2)), value)
        XCTAssertEqual(reopened.statistics.entries, 1)
        XCTAssertEqual(reopened.statistics.keys, 2)
        XCTAssertEqual(reopened.statistics.bytes, value.accountedBytes(keyCount: 2))
    }

    func testUnflushedWritesAreVisibleAndReachTheFileOnFlush() throws {
        let clock = ManualStoreClock()
        let store = try SQLiteStore(path: path, limits: limits, clock: clock)
        let value = StoredReasoning(text: Array("queued".utf8), storedAtMilliseconds: clock.now)
        store.insert(value, for: [key(1)])
        XCTAssertEqual(lookup(store, key(1)), value, "a queued write is served before it is written")
        let other = try SQLiteStore(path: path, limits: limits, clock: clock)
        XCTAssertNil(lookup(other, key(1)), "not yet in the file")
        store.flush()
        XCTAssertEqual(lookup(other, key(1)), value)
    }

    /// A key that is ambiguous stays so while conflicting values keep coming: its marker is
    /// kept (not dropped and written again) and lives as long as the latest of them would.
    func testAnotherConflictKeepsTheMarkerAndItsLife() throws {
        let clock = ManualStoreClock()
        let limits = StoreLimits(maxEntries: 1000, maxBytes: 1 << 20, timeToLiveMilliseconds: 1000)
        let store = try SQLiteStore(path: path, limits: limits, clock: clock)
        func value(_ text: String) -> StoredReasoning { StoredReasoning(text: Array(text.utf8), storedAtMilliseconds: clock.now) }
        store.insert(value("first"), for: [key(1)])
        store.flush()
        store.insert(value("second"), for: [key(1)])
        store.flush()
        XCTAssertEqual(lookup(store, key(1))?.isAmbiguous, true)
        XCTAssertEqual(store.statistics.entries, 1, "the marker alone")
        clock.advance(by: 500)
        let third = value("third")
        store.insert(third, for: [key(1), key(2)])
        store.flush()
        XCTAssertEqual(store.statistics.entries, 2, "the marker, and the third value under its other key")
        XCTAssertEqual(store.statistics.keys, 2)
        XCTAssertEqual(store.statistics.ambiguous, 1, "counted when it turned ambiguous, not again")
        clock.advance(by: 700)
        let reopened = try SQLiteStore(path: path, limits: limits, clock: clock)
        XCTAssertEqual(lookup(reopened, key(1))?.isAmbiguous, true, "past the first marker's life, within the third value's")
        XCTAssertEqual(lookup(reopened, key(2)), third)
        clock.advance(by: 300)
        XCTAssertNil(lookup(reopened, key(1)), "the marker expires with the third value")
    }

    /// `clear`: one tenant's values leave the file (other tenants' stay), then everyone's.
    func testClearOneTenantThenAll() throws {
        let clock = ManualStoreClock()
        let store = try SQLiteStore(path: path, limits: limits, clock: clock)
        let other = KeyBuilder(tenant: TenantID(secret: Array("sqlite".utf8), credential: Array("sk-b".utf8)))
        let mine = StoredReasoning(text: Array("mine".utf8), storedAtMilliseconds: clock.now)
        let theirs = StoredReasoning(text: Array("theirs".utf8), storedAtMilliseconds: clock.now)
        store.insert(mine, for: [key(1), key(2)])
        store.insert(theirs, for: [other.toolCallKey(id: Array("call_1".utf8))!])
        store.flush()
        var done: [Bool] = []
        store.clear(tenant: keys.tenant) { done.append($0) }
        XCTAssertNil(lookup(store, key(1)), "gone at once, before the commit")
        store.flush()
        XCTAssertEqual(done, [true])
        let reopened = try SQLiteStore(path: path, limits: limits, clock: clock)
        XCTAssertNil(lookup(reopened, key(1)))
        XCTAssertNil(lookup(reopened, key(2)))
        XCTAssertEqual(lookup(reopened, other.toolCallKey(id: Array("call_1".utf8))!), theirs)
        XCTAssertEqual(reopened.statistics.entries, 1)
        XCTAssertEqual(reopened.statistics.keys, 1)
        reopened.clear(tenant: nil) { done.append($0) }
        reopened.flush()
        XCTAssertEqual(done, [true, true])
        XCTAssertNil(lookup(reopened, other.toolCallKey(id: Array("call_1".utf8))!))
        XCTAssertEqual(reopened.statistics.entries, 0)
        XCTAssertEqual(reopened.statistics.bytes, 0)
    }

    func testAFullBatchIsWrittenWithoutAFlush() throws {
        let clock = ManualStoreClock()
        let store = try SQLiteStore(path: path, limits: limits, clock: clock, options: .init(batchEntries: 4))
        for n in 0..<4 { store.insert(StoredReasoning(text: [UInt8(n)], storedAtMilliseconds: clock.now), for: [key(n)]) }
        let other = try SQLiteStore(path: path, limits: limits, clock: clock)
        XCTAssertEqual(lookup(other, key(3))?.text, [3])
    }

    func testTheFileIsOwnerOnlyWithWALAndTheSchemaVersion() throws {
        let store = try SQLiteStore(path: path, limits: limits)
        store.insert(StoredReasoning(text: [1], storedAtMilliseconds: SystemStoreClock().nowMilliseconds()), for: [key(1)])
        store.flush()
        for file in [path, path + "-wal", path + "-shm"] {
            let attributes = try FileManager.default.attributesOfItem(atPath: file)
            XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o600, file)
        }
        XCTAssertEqual(try store.database.text("PRAGMA journal_mode"), "wal")
        XCTAssertEqual(try store.database.integer("PRAGMA user_version"), SQLiteStore.schemaVersion)
        XCTAssertEqual(try store.database.integer("PRAGMA synchronous"), 1, "NORMAL")
    }

    func testAnExistingFileIsMadeOwnerOnly() throws {
        _ = FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o644])
        _ = try SQLiteStore(path: path, limits: limits)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o600)
    }

    func testAFileFromANewerSchemaIsRefused() throws {
        do {
            let store = try SQLiteStore(path: path, limits: limits)
            try store.database.exec("PRAGMA user_version = 99")
        }
        XCTAssertThrowsError(try SQLiteStore(path: path, limits: limits)) { error in
            XCTAssertTrue("\(error)".contains("schema version 99"), "\(error)")
        }
    }

    func testTheSweepRemovesExpiredValuesFromTheFile() throws {
        let clock = ManualStoreClock()
        let ttl = StoreLimits(maxEntries: 10_000, maxBytes: 1 << 20, timeToLiveMilliseconds: 1000)
        let store = try SQLiteStore(path: path, limits: ttl, clock: clock, options: .init(batchEntries: 10_000))
        for n in 0..<1200 { store.insert(StoredReasoning(text: [1, 2, 3], storedAtMilliseconds: clock.now), for: [key(n)]) }
        store.flush()
        clock.advance(by: 500)
        store.insert(StoredReasoning(text: [4], storedAtMilliseconds: clock.now), for: [key(5000)])
        store.flush()
        clock.advance(by: 500)
        store.removeExpired()
        store.flush() // 512 rows per transaction: three transactions
        store.flush()
        store.flush()
        XCTAssertEqual(try store.database.integer("SELECT count(*) FROM entries"), 1)
        XCTAssertEqual(try store.database.integer("SELECT count(*) FROM keys"), 1)
        XCTAssertEqual(store.statistics.expirations, 1200)
        XCTAssertEqual(store.statistics.entries, 1)
        XCTAssertEqual(lookup(store, key(5000))?.text, [4])
    }

    func testLimitsThatShrankAreAppliedOnOpen() throws {
        let clock = ManualStoreClock()
        do {
            let store = try SQLiteStore(path: path, limits: limits, clock: clock)
            for n in 0..<10 { store.insert(StoredReasoning(text: [UInt8](repeating: 7, count: 1000), storedAtMilliseconds: clock.now), for: [key(n)]) }
            store.flush()
        }
        let perValue = StoredReasoning(text: [UInt8](repeating: 7, count: 1000), storedAtMilliseconds: 0).accountedBytes(keyCount: 1)
        let store = try SQLiteStore(path: path, limits: StoreLimits(maxEntries: 1000, maxBytes: 3 * perValue, timeToLiveMilliseconds: 60_000), clock: clock)
        store.flush()
        XCTAssertEqual(store.statistics.entries, 3)
        XCTAssertNotNil(lookup(store, key(9)))
        XCTAssertNil(lookup(store, key(0)))
    }

    /// A flood of 200 KB values never takes the file (with its WAL) past `--store-bytes`.
    func testAFloodNeverTakesTheFilePastTheBudget() throws {
        let budget = 8 << 20
        let clock = ManualStoreClock()
        let store = try SQLiteStore(path: path, limits: SQLiteStore.limits(fileBytes: budget, timeToLiveMilliseconds: 60_000), clock: clock,
                                    options: .init(batchEntries: 8))
        var generator = SeededGenerator(seed: 5)
        // Incompressible bytes, sliced at varying offsets and sizes (a debug build is slow at
        // drawing 30 MB byte by byte).
        let pool = (0..<(256_000 / 8)).flatMap { _ in withUnsafeBytes(of: generator.next()) { Array($0) } }
        var largest = 0
        for n in 0..<300 {
            let size = n % 3 == 0 ? 200_000 : Int.random(in: 100...50_000, using: &generator)
            let start = Int.random(in: 0...(pool.count - size), using: &generator)
            let text = Array(pool[start ..< start + size])
            store.insert(StoredReasoning(text: text, storedAtMilliseconds: clock.now), for: [key(n), keys.contentKey(content: [UInt8(n & 0xff), UInt8(n >> 8)], toolCalls: [])!])
            let onDisk = fileSize(path) + fileSize(path + "-wal")
            largest = max(largest, onDisk)
            XCTAssertLessThanOrEqual(onDisk, budget, "after \(n) values: file \(fileSize(path)), wal \(fileSize(path + "-wal")), freelist \((try? store.database.integer("PRAGMA freelist_count")) ?? -1) pages, accounted \(store.statistics.bytes)")
        }
        store.flush()
        XCTAssertLessThanOrEqual(store.statistics.bytes, budget)
        XCTAssertGreaterThan(store.statistics.evictions, 0)
        print("flood: largest file+wal \(largest) bytes of a \(budget) budget; \(store.statistics.entries) entries kept")
    }

    private func fileSize(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
    }
}
