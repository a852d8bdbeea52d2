import ThinkbackCore
import XCTest
@testable import ThinkbackRuntime

/// The counters the workers share (issue 20): each worker writes its slot, any reads the sum.
final class StatsBoardTests: XCTestCase {
    private func pair() -> (StatsBoard, StatsBoard) {
        let a = StatsBoard(slots: 2)
        let b = StatsBoard(sibling: a)
        a.attach(slot: 0)
        b.attach(slot: 1)
        return (a, b)
    }

    func testCountsFromEveryWorkerAddUpForEachReader() {
        let (a, b) = pair()
        a.add(.served, 3)
        b.add(.served, 2)
        a.addFallback(.placeholder)
        b.addFallback(.placeholder)
        b.addFallback(.strip)
        a.countRequest(route: .chatCompletions, status: 200)
        b.countRequest(route: .chatCompletions, status: 200)
        b.countRequest(route: .status, status: 503)
        a.record(a.duration, 3)       // ≤ 5 ms
        b.record(b.duration, 40_000)  // ≤ 60 s
        for reader in [a, b] {
            let t = reader.total()
            XCTAssertEqual(t[.served], 5)
            XCTAssertEqual(t.fallbacks(.placeholder), 2)
            XCTAssertEqual(t.fallbacks(.strip), 1)
            XCTAssertEqual(t.requests(lane: 0).map { "\($0.route.name) \($0.status) \($0.count)" }, ["chat 200 2", "status 503 1"])
            let h = t.histogram(reader.duration)
            XCTAssertEqual(h.count, 2)
            XCTAssertEqual(h.sum, 40_003)
            XCTAssertEqual(h.buckets.first, 1, "one at or under 5 ms")
            XCTAssertEqual(h.buckets[StatsBoard.latencyBoundsMs.firstIndex(of: 60_000)!], 2, "cumulative")
            XCTAssertEqual(h.buckets.last, 2, "+Inf holds them all")
        }
    }

    func testAWorkerStartedAgainGoesOnFromItsCountsAndResetsItsLevels() {
        let (a, b) = pair()
        b.add(.served, 7)
        b.store(.inFlight, 4)
        b.mirror(.storeHits, 10)
        b.keyStarted("alice")
        XCTAssertEqual(a.keyInFlight("alice"), 1)
        // Worker 1 dies and a new process takes its slot: its own counts start at 0 again.
        let again = StatsBoard(sibling: a)
        again.attach(slot: 1)
        again.mirror(.storeHits, 1)
        again.add(.served)
        let t = a.total()
        XCTAssertEqual(t[.served], 8, "a counter never goes back")
        XCTAssertEqual(t[.storeHits], 11, "a process-local count continues from the slot's")
        XCTAssertEqual(t[.inFlight], 0, "the dead worker's requests are not in flight")
        XCTAssertEqual(a.keyInFlight("alice"), 0)
    }

    func testTheStoreTotalsAreTheLatestObservation() {
        let (a, b) = pair()
        var s = StoreStatistics()
        s.entries = 4; s.keys = 12; s.bytes = 4000; s.totalsObservedNs = 200
        a.publish(store: s)
        // b published later what it saw earlier: the older view loses.
        var old = StoreStatistics()
        old.entries = 2; old.keys = 6; old.bytes = 2000; old.totalsObservedNs = 100; old.degraded = true
        b.publish(store: old)
        let t = b.total().store
        XCTAssertEqual([t.entries, t.keys, t.bytes], [4, 12, 4000])
        XCTAssertTrue(t.degraded, "any worker's store failing is shown")
    }

    func testAClearReachesTheOtherWorkerOnce() throws {
        let (a, b) = pair()
        XCTAssertFalse(b.announcementsPending)
        let alice = try XCTUnwrap(TenantID(bytes: Array(1 ... 16)))
        let key = CacheKey(tenant: alice, kind: .toolCall, digest: SHA256.hash(Array("call_1".utf8)))
        a.announceClear(tenant: alice)
        a.announceClear(tenant: nil)
        a.announce(.forget(key))
        XCTAssertFalse(a.announcementsPending, "the worker that cleared has its own done")
        XCTAssertTrue(b.announcementsPending)
        XCTAssertEqual(b.takeAnnouncements(), [.clear(alice), .clear(nil), .forget(key)])
        XCTAssertFalse(b.announcementsPending)
        XCTAssertEqual(b.takeAnnouncements(), [])
        // More than the ring keeps while b looked away: b is told to drop everything.
        for _ in 0 ..< 70 { a.announceClear(tenant: alice) }
        XCTAssertNil(b.takeAnnouncements())
    }

    func testTheExpositionSumsEveryWorker() {
        let (a, b) = pair()
        a.add(.hitsContext, 2)
        b.add(.hitsContext, 3)
        a.countRequest(route: .chatCompletions, status: 200)
        b.countRequest(route: .chatCompletions, status: 200)
        var m = PrometheusText()
        m.metric("thinkback_restore_hits_total", "counter", "h", [([("key", "context"), ("upstream", "mimo")], b.total()[.hitsContext])])
        let text = String(decoding: m.bytes, as: UTF8.self)
        XCTAssertTrue(text.contains("thinkback_restore_hits_total{key=\"context\",upstream=\"mimo\"} 5\n"), text)
        XCTAssertTrue(text.contains("# TYPE thinkback_restore_hits_total counter\n"))
    }

    func testPerRequestCountsKeepTheirUpstreamsLaneAndTheBoardsOwnCellsDoNot() {
        let a = StatsBoard(slots: 2, lanes: 3)
        let b = StatsBoard(sibling: a)
        a.attach(slot: 0)
        b.attach(slot: 1)
        a.add(.misses, lane: 2)
        b.add(.misses, 2, lane: 2)
        b.add(.misses, lane: 0)
        a.addFallback(.strip, lane: 1)
        a.countRequest(route: .chatCompletions, status: 200, lane: 1)
        b.countRequest(route: .chatCompletions, status: 418, lane: 1)   // not in the list: its class
        a.record(a.firstByte, 30, lane: 2)
        a.record(a.commitWait, 700)
        a.add(.served, 4)
        let t = b.total()
        XCTAssertEqual(t[.misses, lane: 2], 3)
        XCTAssertEqual(t[.misses, lane: 0], 1)
        XCTAssertEqual(t[.misses], 4, "over every lane")
        XCTAssertEqual(t.fallbacks(.strip, lane: 1), 1)
        XCTAssertEqual(t.fallbacks(.strip, lane: 2), 0)
        XCTAssertEqual(t.requests(lane: 1).map { "\($0.route.name) \($0.status) \($0.count)" }, ["chat 200 1", "chat 4xx 1"])
        XCTAssertEqual(t.requests(lane: 0).count, 0)
        XCTAssertEqual(t.histogram(a.firstByte, lane: 2).count, 1)
        XCTAssertEqual(t.histogram(a.firstByte, lane: 1).count, 0)
        XCTAssertEqual(t.histogram(a.commitWait).count, 1, "the board's own histogram")
        XCTAssertEqual(t[.served], 4)
        XCTAssertEqual(a.sum(.misses), 4)
    }

    func testEachWorkersHotTierGetsItsShareOfTheBounds() {
        let limits = StoreLimits(maxEntries: 1_000_000, maxBytes: 256 << 20)
        XCTAssertEqual(StoreFactory.hotLimits(limits, workers: 1), limits)
        let share = StoreFactory.hotLimits(limits, workers: 4)
        XCTAssertEqual(share.maxEntries, 250_000)
        XCTAssertEqual(share.maxBytes, 64 << 20)
        XCTAssertEqual(share.timeToLiveMilliseconds, limits.timeToLiveMilliseconds)
        let tiny = StoreFactory.hotLimits(StoreLimits(maxEntries: 3, maxBytes: 1000), workers: 8)
        XCTAssertEqual(tiny.maxEntries, 1)
        XCTAssertEqual(tiny.maxBytes, 1 << 20)
    }
}
