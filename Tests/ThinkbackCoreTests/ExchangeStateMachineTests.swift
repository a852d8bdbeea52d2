import XCTest
@testable import ThinkbackCore

final class ExchangeStateMachineTests: XCTestCase {
    private func machine(attempts: Int = 3) -> ExchangeStateMachine {
        ExchangeStateMachine(retry: RetryPolicy(maxAttempts: attempts, baseDelayMs: 100, maxDelayMs: 1000), random: { 0.5 })
    }

    func testStreamingHeadCommitsAndForwards() {
        var m = machine()
        XCTAssertEqual(m.handle(.start), .startAttempt(1))
        XCTAssertEqual(m.handle(.headComplete(status: 200, isEventStream: true, retryAfterMs: nil)), .startStream(status: 200))
        XCTAssertTrue(m.isCommitted)
        XCTAssertEqual(m.handle(.transferDone(.completed)), .endStream)
    }

    func testNonStreamResponseIsBufferedThenRepliedAsIs() {
        var m = machine()
        _ = m.handle(.start)
        XCTAssertEqual(m.handle(.headComplete(status: 200, isEventStream: false, retryAfterMs: nil)), .startBuffering)
        XCTAssertFalse(m.isCommitted)
        XCTAssertEqual(m.handle(.transferDone(.completed)), .replyBuffered)
    }

    func testAWholeAnswerPastTheBoundIsA502AndNothingAfter() {
        var m = machine()
        _ = m.handle(.start)
        _ = m.handle(.headComplete(status: 200, isEventStream: false, retryAfterMs: nil))
        XCTAssertEqual(m.handle(.responseTooLarge), .replyError(.responseTooLarge()))
        XCTAssertEqual(m.handle(.transferDone(.completed)), .none)
        // A stream is relayed, never collected: the bound does not apply.
        var s = machine()
        _ = s.handle(.start)
        _ = s.handle(.headComplete(status: 200, isEventStream: true, retryAfterMs: nil))
        XCTAssertEqual(s.handle(.responseTooLarge), .none)
    }

    func testAnInternalFailureBeforeTheFirstByteIsAnsweredOnceAndNothingAfter() {
        let oom = ProxyError.outOfMemory("the answer's buffer")
        var m = machine()
        _ = m.handle(.start)
        _ = m.handle(.headComplete(status: 200, isEventStream: false, retryAfterMs: nil))
        XCTAssertEqual(m.handle(.failed(oom)), .replyError(oom))
        XCTAssertEqual(m.state, .finished)
        XCTAssertEqual(m.handle(.transferDone(.completed)), .none)
        XCTAssertEqual(m.handle(.failed(oom)), .none)
        // While backing off, too.
        var b = machine()
        _ = b.handle(.start)
        _ = b.handle(.transferDone(.connectFailed("refused")))
        XCTAssertEqual(b.handle(.failed(oom)), .replyError(oom))
        XCTAssertEqual(b.handle(.retryTimerFired), .none)
        // Once streaming, the stream's end is the stream machine's: no second answer.
        var s = machine()
        _ = s.handle(.start)
        _ = s.handle(.headComplete(status: 200, isEventStream: true, retryAfterMs: nil))
        XCTAssertEqual(s.handle(.failed(oom)), .none)
        XCTAssertEqual(s.handle(.transferDone(.completed)), .endStream)
    }

    func testErrorStatusOnAStreamRequestIsBufferedNotStreamed() {
        var m = machine()
        _ = m.handle(.start)
        XCTAssertEqual(m.handle(.headComplete(status: 400, isEventStream: true, retryAfterMs: nil)), .startBuffering)
        XCTAssertEqual(m.handle(.transferDone(.completed)), .replyBuffered)
    }

    func testRetriesOn503ThenGivesTheLastAnswerWhenAttemptsRunOut() {
        var m = machine(attempts: 2)
        _ = m.handle(.start)
        _ = m.handle(.headComplete(status: 503, isEventStream: false, retryAfterMs: nil))
        guard case .scheduleRetry = m.handle(.transferDone(.completed)) else { return XCTFail("expected a retry") }
        XCTAssertEqual(m.handle(.retryTimerFired), .startAttempt(2))
        _ = m.handle(.headComplete(status: 503, isEventStream: false, retryAfterMs: nil))
        XCTAssertEqual(m.handle(.transferDone(.completed)), .replyBuffered)
    }

    func testHonoursRetryAfterOn429() {
        var m = machine()
        _ = m.handle(.start)
        _ = m.handle(.headComplete(status: 429, isEventStream: false, retryAfterMs: 700))
        XCTAssertEqual(m.handle(.transferDone(.completed)), .scheduleRetry(delayMs: 700))
    }

    func testDoesNotRetryA400() {
        var m = machine()
        _ = m.handle(.start)
        _ = m.handle(.headComplete(status: 400, isEventStream: false, retryAfterMs: nil))
        XCTAssertEqual(m.handle(.transferDone(.completed)), .replyBuffered)
    }

    func testConnectionFailureRetriesThenAnswers502() {
        var m = machine(attempts: 2)
        _ = m.handle(.start)
        guard case .scheduleRetry = m.handle(.transferDone(.connectFailed("refused"))) else { return XCTFail() }
        _ = m.handle(.retryTimerFired)
        guard case .replyError(let e) = m.handle(.transferDone(.connectFailed("refused"))) else { return XCTFail() }
        XCTAssertEqual(e.status, 502)
    }

    func testFirstByteTimeoutAnswers504() {
        var m = machine()
        _ = m.handle(.start)
        guard case .replyError(let e) = m.handle(.firstByteTimeout) else { return XCTFail() }
        XCTAssertEqual(e.status, 504)
        XCTAssertEqual(m.handle(.transferDone(.completed)), .none)
    }

    func testNeverRetriesOnceTheStreamStarted() {
        var m = machine()
        _ = m.handle(.start)
        _ = m.handle(.headComplete(status: 200, isEventStream: true, retryAfterMs: nil))
        XCTAssertEqual(m.handle(.transferDone(.failed("reset"))), .endStream)
        XCTAssertEqual(m.state, .finished)
    }

    func testClientGoneAbandonsInEveryLiveState() {
        for setup in 0..<3 {
            var m = machine()
            _ = m.handle(.start)
            if setup >= 1 { _ = m.handle(.headComplete(status: setup == 1 ? 200 : 503, isEventStream: setup == 1, retryAfterMs: nil)) }
            if setup == 2 { _ = m.handle(.transferDone(.completed)) }
            XCTAssertEqual(m.handle(.clientGone), .abandon)
            XCTAssertEqual(m.handle(.retryTimerFired), .none)
        }
    }
}

final class RetryPolicyTests: XCTestCase {
    func testBackoffGrowsExponentiallyWithinJitterBounds() {
        let p = RetryPolicy(maxAttempts: 10, baseDelayMs: 100, maxDelayMs: 100_000)
        for attempt in 1...5 {
            let step = UInt64(100) << UInt64(attempt - 1)
            XCTAssertEqual(p.delay(afterAttempt: attempt, retryAfterMs: nil, random: 0), step / 2)
            XCTAssertLessThanOrEqual(p.delay(afterAttempt: attempt, retryAfterMs: nil, random: 0.999)!, step)
        }
    }

    func testCapsAtMaxDelayAndStopsAfterMaxAttempts() {
        let p = RetryPolicy(maxAttempts: 3, baseDelayMs: 1000, maxDelayMs: 1500)
        XCTAssertLessThanOrEqual(p.delay(afterAttempt: 2, retryAfterMs: nil, random: 0.99)!, 1500)
        XCTAssertNil(p.delay(afterAttempt: 3, retryAfterMs: nil, random: 0.5))
    }

    func testRetryAfterLongerThanTheCapIsNotWaitedFor() {
        let p = RetryPolicy(maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 1000)
        XCTAssertEqual(p.delay(afterAttempt: 1, retryAfterMs: 900, random: 0), 900)
        XCTAssertNil(p.delay(afterAttempt: 1, retryAfterMs: 5000, random: 0))
    }

    func testParsesRetryAfterSeconds() {
        XCTAssertEqual(RetryPolicy.parseRetryAfter("2"), 2000)
        XCTAssertEqual(RetryPolicy.parseRetryAfter(" 0.5 "), 500)
        XCTAssertNil(RetryPolicy.parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT"))
        XCTAssertNil(RetryPolicy.parseRetryAfter("-1"))
    }

    func testRetryableStatuses() {
        XCTAssertTrue(RetryPolicy.isRetryable(status: 429))
        XCTAssertTrue(RetryPolicy.isRetryable(status: 503))
        XCTAssertFalse(RetryPolicy.isRetryable(status: 400))
        XCTAssertFalse(RetryPolicy.isRetryable(status: 501))
    }
}

/// `auto`'s one immediate retry on the provider's refusal (product.md §3).
final class ExchangeRefusalFallbackTests: XCTestCase {
    func testAnArmedMachineInspectsA400AndRetriesOnceAtOnce() {
        var m = ExchangeStateMachine(retry: RetryPolicy(maxAttempts: 1), random: { 0 })
        m.refusalFallbackArmed = true
        XCTAssertEqual(m.handle(.start), .startAttempt(1))
        XCTAssertEqual(m.handle(.headComplete(status: 400, isEventStream: true, retryAfterMs: nil)), .startBuffering)
        XCTAssertEqual(m.handle(.transferDone(.completed)), .inspectRefusal)
        XCTAssertEqual(m.handle(.refusalConfirmed), .startAttempt(2), "even with retries exhausted")
        XCTAssertFalse(m.refusalFallbackArmed)
        XCTAssertEqual(m.handle(.headComplete(status: 400, isEventStream: false, retryAfterMs: nil)), .startBuffering)
        XCTAssertEqual(m.handle(.transferDone(.completed)), .replyBuffered, "only once")
    }

    func testAnotherErrorPassesThrough() {
        var m = ExchangeStateMachine(retry: RetryPolicy(maxAttempts: 3), random: { 0 })
        m.refusalFallbackArmed = true
        _ = m.handle(.start)
        _ = m.handle(.headComplete(status: 400, isEventStream: false, retryAfterMs: nil))
        XCTAssertEqual(m.handle(.transferDone(.completed)), .inspectRefusal)
        XCTAssertEqual(m.handle(.notARefusal), .replyBuffered)
        XCTAssertEqual(m.state, .finished)
    }

    func testUnarmedMachinePassesA400Through() {
        var m = ExchangeStateMachine(retry: RetryPolicy(maxAttempts: 3), random: { 0 })
        _ = m.handle(.start)
        _ = m.handle(.headComplete(status: 400, isEventStream: false, retryAfterMs: nil))
        XCTAssertEqual(m.handle(.transferDone(.completed)), .replyBuffered)
    }

    func testClientLeavingDuringInspectionAbandons() {
        var m = ExchangeStateMachine(retry: RetryPolicy(maxAttempts: 3), random: { 0 })
        m.refusalFallbackArmed = true
        _ = m.handle(.start)
        _ = m.handle(.headComplete(status: 400, isEventStream: false, retryAfterMs: nil))
        _ = m.handle(.transferDone(.completed))
        XCTAssertEqual(m.handle(.clientGone), .abandon)
    }
}
