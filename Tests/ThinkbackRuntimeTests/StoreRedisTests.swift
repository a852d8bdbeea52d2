import Foundation
import XCTest
import ThinkbackCore
@testable import ThinkbackRuntime
import ThinkbackTestSupport

/// Runs `loop` until `done()` holds (checked every millisecond) or two seconds pass.
func runLoop(_ loop: EventLoop, seconds: TimeInterval = 2, until done: @escaping () -> Bool) {
    let deadline = Date().addingTimeInterval(seconds)
    var check: LoopTimer?
    check = LoopTimer(loop: loop) {
        if done() || Date() > deadline { loop.stop() } else { check?.arm(milliseconds: 1) }
    }
    check?.arm(milliseconds: 0)
    loop.run()
    check = nil
}

/// RedisStore against the shared contract, on a real redis-server. Left out, and why:
/// - statistics.keys: not tracked (a key is a Redis string of its own, counted nowhere);
/// - entry bound and the checks that use it (Redis keeps a byte budget only);
/// - least recently used: Redis evicts the oldest stored first (hits do not write);
/// - a replaced value stays counted in `entries` until it expires or is evicted;
/// - removeExpired: Redis expires keys itself (PX); the index is trimmed on inserts.
final class StoreRedisConformanceTests: XCTestCase {
    nonisolated(unsafe) private static var server: RedisServer?
    private var loop: EventLoop!
    private var conformance: StoreConformance!

    override func setUpWithError() throws {
        if Self.server == nil { Self.server = try RedisServer() }
        let port = Self.server!.port
        loop = try EventLoop()
        conformance = StoreConformance { [loop] clock, limits in
            let loop = loop!
            let store = RedisStore(options: .init(host: "127.0.0.1", port: port, prefix: "conf-\(UUID().uuidString):", timeoutMs: 1000),
                                   limits: limits, loop: loop, clock: clock)
            runLoop(loop) { store.isConnected }
            return StoreUnderTest(store: store, settle: { runLoop(loop) { store.pendingReplies == 0 } })
        }
    }

    override class func tearDown() {
        server?.stop()
        server = nil
    }

    func testLookupReturnsWhatWasInserted() { conformance.checkLookupReturnsWhatWasInserted() }
    func testEmptyReasoningIsAHit() { conformance.checkEmptyReasoningIsAHit() }
    func testBytesAreCountedOncePerValue() { conformance.checkBytesAreCountedOncePerValue() }
    func testInsertWithoutKeysStoresNothing() { conformance.checkInsertWithoutKeysStoresNothing() }
    func testExpiredValueIsAMiss() { conformance.checkExpiredValueIsAMiss() }
    func testTimeToLiveCountsFromStoredAt() { conformance.checkTimeToLiveCountsFromStoredAt() }
    func testAlreadyExpiredValueIsNotStored() { conformance.checkAlreadyExpiredValueIsNotStored() }
    func testByteBound() { conformance.checkByteBound() }
    func testOversizedValueIsRejected() { conformance.checkOversizedValueIsRejected() }
    func testTenantsNeverShareEntries() { conformance.checkTenantsNeverShareEntries() }
    func testLookupNowAgreesWithLookup() { conformance.checkLookupNowAgreesWithLookup() }
    func testSingleKeyConveniences() { conformance.checkSingleKeyConveniences() }
    func testReinsertingAKeyWithOtherReasoningMakesItAmbiguous() { conformance.checkReinsertingAKeyWithOtherReasoningMakesItAmbiguous() }
    func testReinsertingTheSameReasoningKeepsTheKey() { conformance.checkReinsertingTheSameReasoningKeepsTheKey() }
    func testAmbiguityTouchesOnlyTheConflictingKey() { conformance.checkAmbiguityTouchesOnlyTheConflictingKey() }
    func testAmbiguousKeyStaysAmbiguousUntilItExpires() { conformance.checkAmbiguousKeyStaysAmbiguousUntilItExpires() }
    func testAnExpiredValueDoesNotConflict() { conformance.checkAnExpiredValueDoesNotConflict() }
    func testWhenCommittedCallsBackOnceAfterTheInserts() { conformance.checkWhenCommittedCallsBackOnceAfterTheInserts() }
}

/// What only the Redis store promises: degrading and recovering, a memory budget.
final class StoreRedisTests: XCTestCase {
    private let keys = KeyBuilder(tenant: TenantID(secret: Array("redis".utf8), credential: Array("sk-a".utf8)))
    private func key(_ n: Int) -> CacheKey { keys.toolCallKey(id: Array("call_\(n)".utf8))! }

    private func lookup(_ loop: EventLoop, _ store: RedisStore, _ key: CacheKey) -> (StoredReasoning?, answered: Bool) {
        var answer: [StoredReasoning?]?
        store.lookup([key]) { answer = $0 }
        runLoop(loop) { answer != nil }
        return (answer?.first ?? nil, answer != nil)
    }

    func testUnreachableRedisMissesAtOnceAndRecoversWhenItComesBack() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let loop = try EventLoop()
        var options = RedisStore.Options(host: "127.0.0.1", port: server.port, prefix: "deg:", timeoutMs: 200)
        options.reconnectMaxMs = 200
        let store = RedisStore(options: options, limits: StoreLimits(), loop: loop)
        runLoop(loop) { store.isConnected }
        let value = StoredReasoning(text: [1, 2, 3], storedAtMilliseconds: SystemStoreClock().nowMilliseconds())
        store.insert(value, for: [key(1)])
        runLoop(loop) { store.pendingReplies == 0 }
        XCTAssertEqual(lookup(loop, store, key(1)).0, value)

        server.kill()
        runLoop(loop) { !store.isConnected }
        XCTAssertTrue(store.statistics.degraded)
        let failuresAtOutage = store.statistics.failures
        let started = Date()
        let (missed, answered) = lookup(loop, store, key(1))
        XCTAssertTrue(answered)
        XCTAssertNil(missed)
        XCTAssertLessThan(Date().timeIntervalSince(started), 0.15, "a lookup during an outage does not wait")
        store.insert(value, for: [key(2)]) // skipped, counted

        try server.restart()
        runLoop(loop) { store.isConnected }
        XCTAssertTrue(store.isConnected, "reconnected by itself")
        XCTAssertFalse(store.statistics.degraded)
        XCTAssertGreaterThan(store.statistics.failures, failuresAtOutage)
        store.insert(value, for: [key(3)])
        runLoop(loop) { store.pendingReplies == 0 }
        XCTAssertEqual(lookup(loop, store, key(3)).0, value)
    }

    private func connectedStore(_ loop: EventLoop, _ server: RedisServer, prefix: String = "commit:") -> RedisStore {
        let store = RedisStore(options: .init(host: "127.0.0.1", port: server.port, prefix: prefix, timeoutMs: 1000),
                               limits: StoreLimits(), loop: loop)
        runLoop(loop) { store.isConnected }
        return store
    }

    private func value(_ text: String) -> StoredReasoning {
        StoredReasoning(text: Array(text.utf8), storedAtMilliseconds: SystemStoreClock().nowMilliseconds())
    }

    func testWhenCommittedWaitsForRedisToAcknowledgeTheInsert() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let loop = try EventLoop()
        let store = connectedStore(loop, server)
        // Scripts wait while writes are paused: the insert is sent and not yet answered.
        let paused = Date()
        XCTAssertEqual(try server.command("CLIENT PAUSE 300 WRITE"), "+OK")
        store.insert(value("acknowledged"), for: [key(1)])
        var committed: [(Bool, Date)] = []
        store.whenCommitted { committed.append(($0, Date())) }
        XCTAssertTrue(committed.isEmpty, "not before Redis answers")
        runLoop(loop) { !committed.isEmpty }
        XCTAssertEqual(committed.map(\.0), [true])
        XCTAssertGreaterThanOrEqual(committed.first.map { $0.1.timeIntervalSince(paused) } ?? 0, 0.25, "only once the pause ended")
        XCTAssertEqual(lookup(loop, store, key(1)).0?.text, Array("acknowledged".utf8))

        var again: [Bool] = []
        store.whenCommitted { again.append($0) }
        XCTAssertEqual(again, [true], "nothing unacknowledged: at once")
    }

    func testAServerThatStopsAnsweringIsDroppedAndReconnectedWithinTheStallBound() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let loop = try EventLoop()
        var options = RedisStore.Options(host: "127.0.0.1", port: server.port, prefix: "stall:", timeoutMs: 50)
        options.stallMs = 300
        let store = RedisStore(options: options, limits: StoreLimits(), loop: loop)
        runLoop(loop) { store.isConnected }
        // The server keeps the connection but answers nothing for 2.5 s.
        XCTAssertEqual(try server.command("CLIENT PAUSE 2500 ALL"), "+OK")
        let started = Date()
        store.insert(value("stalled"), for: [key(1)])
        var committed: [Bool] = []
        store.whenCommitted { committed.append($0) }
        runLoop(loop) { !committed.isEmpty }
        XCTAssertEqual(committed, [false], "given up on, not waited for")
        XCTAssertLessThan(Date().timeIntervalSince(started), 1.5, "found by the stall bound (0.3 s), not after the pause")
        XCTAssertGreaterThan(store.statistics.failures, 0)
        XCTAssertTrue(store.statistics.degraded)
        // Once the server answers again, the store is back by itself.
        runLoop(loop, seconds: 6) { store.isConnected && !store.statistics.degraded && Date().timeIntervalSince(started) > 2.6 }
        store.insert(value("after"), for: [key(2)])
        var again: [Bool] = []
        store.whenCommitted { again.append($0) }
        runLoop(loop, seconds: 6) { !again.isEmpty }
        XCTAssertEqual(again, [true])
    }

    func testCommandsInFlightAreBounded() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let loop = try EventLoop()
        var options = RedisStore.Options(host: "127.0.0.1", port: server.port, prefix: "bound:", timeoutMs: 1000)
        options.maxInFlight = 5
        let store = RedisStore(options: options, limits: StoreLimits(), loop: loop)
        runLoop(loop) { store.isConnected }
        XCTAssertEqual(try server.command("CLIENT PAUSE 500 WRITE"), "+OK")
        let failuresBefore = store.statistics.failures
        for n in 0 ..< 12 { store.insert(value("v\(n)"), for: [key(n)]) }
        XCTAssertEqual(store.pendingReplies, 5, "no more than the bound waits for an answer")
        XCTAssertEqual(store.statistics.failures - failuresBefore, 7, "the rest are not sent (the hot tier keeps them)")
        var misses: [StoredReasoning?] = [StoredReasoning(text: [1], storedAtMilliseconds: 0)]
        store.lookup([key(0)]) { misses = $0 }
        XCTAssertEqual(misses.count, 1)
        XCTAssertNil(misses[0], "a lookup past the bound misses at once")
        runLoop(loop) { store.pendingReplies == 0 }
    }

    func testWhenCommittedAnswersFalseWhenTheInsertIsLostOrCannotBeSent() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let loop = try EventLoop()
        let store = connectedStore(loop, server)
        XCTAssertEqual(try server.command("CLIENT PAUSE 5000 WRITE"), "+OK")
        store.insert(value("lost"), for: [key(1)])
        var committed: [Bool] = []
        store.whenCommitted { committed.append($0) }
        server.kill()
        runLoop(loop) { !committed.isEmpty }
        XCTAssertEqual(committed, [false], "the connection went away before the answer")

        runLoop(loop) { !store.isConnected }
        store.insert(value("unsent"), for: [key(2)])
        store.whenCommitted { committed.append($0) }
        XCTAssertEqual(committed, [false, false], "not sent: at once")
    }

    func testAKeyClaimedWithOtherReasoningThroughTwoStoresTurnsAmbiguousInBoth() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let loop = try EventLoop()
        let a = connectedStore(loop, server, prefix: "shared:")
        let b = connectedStore(loop, server, prefix: "shared:")
        // B as a process runs it: a hot tier in front, which learns from B's insert.
        let tiered = TieredStore(hot: MemoryStore(), cold: b)
        var reported: [[CacheKey]] = []
        b.observeAmbiguity { reported.append($0) }

        a.insert(value("A's reasoning"), for: [key(1), key(2)])
        runLoop(loop) { a.pendingReplies == 0 }
        tiered.insert(value("B's reasoning"), for: [key(3), key(1)])
        runLoop(loop) { b.pendingReplies == 0 }

        XCTAssertEqual(reported, [[key(1)]])
        XCTAssertEqual(b.statistics.ambiguous, 1)
        XCTAssertEqual(tiered.lookupNow(key(1))?.isAmbiguous, true, "the hot tier marks what Redis found")
        XCTAssertEqual(lookup(loop, a, key(1)).0?.isAmbiguous, true)
        XCTAssertEqual(lookup(loop, b, key(1)).0?.isAmbiguous, true)
        XCTAssertEqual(lookup(loop, a, key(2)).0?.text, Array("A's reasoning".utf8))
        XCTAssertEqual(lookup(loop, a, key(3)).0?.text, Array("B's reasoning".utf8))
    }

    func testAFloodStaysWithinTheMemoryBudget() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let baseline = try server.usedMemory()
        let budget = 8 << 20
        let loop = try EventLoop()
        let store = RedisStore(options: .init(host: "127.0.0.1", port: server.port, prefix: "flood:", timeoutMs: 1000),
                               limits: RedisStore.limits(memoryBytes: budget, timeToLiveMilliseconds: 60_000), loop: loop)
        runLoop(loop) { store.isConnected }
        var generator = SeededGenerator(seed: 9)
        let pool = (0..<(256_000 / 8)).flatMap { _ in withUnsafeBytes(of: generator.next()) { Array($0) } }
        var largest = 0
        for n in 0..<200 {
            let size = n % 3 == 0 ? 200_000 : Int.random(in: 100...50_000, using: &generator)
            let start = Int.random(in: 0...(pool.count - size), using: &generator)
            store.insert(StoredReasoning(text: Array(pool[start ..< start + size]), storedAtMilliseconds: SystemStoreClock().nowMilliseconds()),
                         for: [key(n), keys.contentKey(content: [UInt8(n & 0xff), UInt8(n >> 8)], toolCalls: [])!])
            if n % 10 == 9 {
                runLoop(loop) { store.pendingReplies == 0 }
                let used = try server.usedMemory() - baseline
                largest = max(largest, used)
                XCTAssertLessThanOrEqual(used, budget, "after \(n + 1) values")
            }
        }
        XCTAssertGreaterThan(store.statistics.evictions, 0)
        XCTAssertLessThanOrEqual(store.statistics.bytes, budget)
        print("redis flood: largest used_memory growth \(largest) bytes of a \(budget) budget; \(store.statistics.entries) entries kept")
    }
}
