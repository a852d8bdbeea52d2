import Foundation
import XCTest
import ThinkbackCore
@testable import ThinkbackRuntime

/// The group-commit gate: an answer's tail is released exactly once — when its capture is
/// committed, or at the commit timeout — and never holds the loop.
final class CommitGateTests: XCTestCase {
    /// A store whose commits the test completes by hand.
    private final class ManualCommitStore: ReasoningStore {
        var waiting: [(Bool) -> Void] = []
        var commitsAtOnce: Bool?
        func lookup(_ keys: [CacheKey], completion: @escaping ([StoredReasoning?]) -> Void) { completion(keys.map { _ in nil }) }
        func lookupNow(_ key: CacheKey) -> StoredReasoning? { nil }
        func insert(_ value: StoredReasoning, for keys: [CacheKey]) {}
        func whenCommitted(_ completion: @escaping (Bool) -> Void) {
            if let ok = commitsAtOnce { completion(ok) } else { waiting.append(completion) }
        }
        var statistics: StoreStatistics { StoreStatistics() }
        func clear(tenant: TenantID?, completion: @escaping (Bool) -> Void) { completion(true) }
        func commitAll(_ ok: Bool) {
            let w = waiting
            waiting = []
            for c in w { c(ok) }
        }
    }

    private func spin(_ loop: EventLoop, milliseconds: UInt64) {
        let stop = LoopTimer(loop: loop) { loop.stop() }
        stop.arm(milliseconds: milliseconds)
        loop.run()
    }

    func testACommittedStoreReleasesNothingLaterAndCountsAFailure() throws {
        let loop = try EventLoop()
        let store = ManualCommitStore()
        let gate = CommitGate(store: store, loop: loop, timeoutMs: 50)
        store.commitsAtOnce = true
        XCTAssertFalse(gate.hold { XCTFail("a store that committed at once holds nothing") })
        store.commitsAtOnce = false
        XCTAssertFalse(gate.hold { XCTFail("nothing to wait for") })
        XCTAssertEqual(gate.counters.held, 0)
        XCTAssertEqual(gate.counters.failures, 1, "the capture is in memory only")
    }

    func testReleasedOnceOnCommitNeverAgainAtTheTimeout() throws {
        let loop = try EventLoop()
        let store = ManualCommitStore()
        let gate = CommitGate(store: store, loop: loop, timeoutMs: 30)
        var released = 0
        XCTAssertTrue(gate.hold { released += 1 })
        XCTAssertEqual(released, 0, "held until the store commits")
        store.commitAll(true)
        XCTAssertEqual(released, 1)
        spin(loop, milliseconds: 80)
        XCTAssertEqual(released, 1, "the timeout finds it released")
        XCTAssertEqual(gate.counters.committed, 1)
        XCTAssertEqual(gate.counters.timeouts, 0)
    }

    func testReleasedAtTheTimeoutInArrivalOrderAndNotAgainByALateCommit() throws {
        let loop = try EventLoop()
        let store = ManualCommitStore()
        let gate = CommitGate(store: store, loop: loop, timeoutMs: 200)
        var order: [Int] = []
        XCTAssertTrue(gate.hold { order.append(1) })
        spin(loop, milliseconds: 10)
        XCTAssertTrue(gate.hold { order.append(2) })
        spin(loop, milliseconds: 20)
        XCTAssertEqual(order, [], "not before the timeout")
        spin(loop, milliseconds: 400)
        XCTAssertEqual(order, [1, 2])
        store.commitAll(true)
        XCTAssertEqual(order, [1, 2], "a commit after the timeout releases nothing twice")
        XCTAssertEqual(gate.counters.timeouts, 2)
        XCTAssertEqual(gate.counters.committed, 0)
    }

    func testAFailedCommitReleasesAtOnceAndCounts() throws {
        let loop = try EventLoop()
        let store = ManualCommitStore()
        let gate = CommitGate(store: store, loop: loop, timeoutMs: 1000)
        var released = false
        XCTAssertTrue(gate.hold { released = true })
        store.commitAll(false)
        XCTAssertTrue(released)
        XCTAssertEqual(gate.counters.failures, 1)
    }
}
