import Glibc
import XCTest
import ThinkbackCore
@testable import ThinkbackRuntime

/// Durations and deadlines come from the monotonic clock: a wall clock stepped backwards never
/// makes `now - start` underflow (issue 17); what is stored stays wall-clock (StoreClock).
final class EventLoopClockTests: XCTestCase {
    private func monotonicMs() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1000 + UInt64(ts.tv_nsec) / 1_000_000
    }

    func testTheLoopsClockIsTheMonotonicOne() throws {
        let loop = try EventLoop()
        let before = monotonicMs()
        let now = loop.nowMs
        let after = monotonicMs()
        XCTAssertGreaterThanOrEqual(now, before)
        XCTAssertLessThanOrEqual(now, after)
        let wall = SystemStoreClock().nowMilliseconds()
        XCTAssertGreaterThan(wall > now ? wall - now : now - wall, 1000 * 3600 * 24 * 365,
                             "the wall clock (since 1970) and the monotonic one (since boot) are years apart")
    }

    func testTheLoopsClockNeverGoesBackwards() throws {
        let loop = try EventLoop()
        var last = loop.nowMs
        for _ in 0 ..< 10_000 {
            let now = loop.nowMs
            XCTAssertGreaterThanOrEqual(now, last)
            last = now
        }
    }
}
