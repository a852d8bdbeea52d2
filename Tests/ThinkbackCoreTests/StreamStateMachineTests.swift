import XCTest
@testable import ThinkbackCore

/// The life of a started stream: backpressure, the group-commit hold, and one end.
final class StreamStateMachineTests: XCTestCase {
    typealias Hold = StreamStateMachine.Hold

    /// A machine holding the read that carried `[DONE]` (`count` bytes).
    private func holding(_ count: Int = 100, limit: Int = StreamStateMachine.defaultHoldLimit) -> StreamStateMachine {
        var m = StreamStateMachine(holdLimit: limit)
        XCTAssertEqual(m.handle(.upstreamBytes(count: count)), .forward)
        XCTAssertEqual(m.handle(.commitAwaited(count: count)), .hold)
        return m
    }

    func testReadsGoToTheClientWhileItsRingHasRoom() {
        var m = StreamStateMachine()
        for _ in 0 ..< 3 { XCTAssertEqual(m.handle(.upstreamBytes(count: 500)), .forward) }
        XCTAssertEqual(m.state, .flowing)
    }

    func testAFullRingPausesTheUpstreamAndTheDrainResumesIt() {
        var m = StreamStateMachine()
        XCTAssertEqual(m.handle(.upstreamBytes(count: 500)), .forward)
        XCTAssertEqual(m.handle(.clientFull), .pauseUpstream)
        XCTAssertEqual(m.state, .pausedForClient)
        XCTAssertEqual(m.handle(.clientDrained), .resumeUpstream)
        XCTAssertEqual(m.state, .flowing)
        XCTAssertEqual(m.handle(.upstreamBytes(count: 500)), .forward, "the refused read comes again and goes")
    }

    func testARingStillFullAfterTheResumePausesAgain() {
        var m = StreamStateMachine()
        _ = m.handle(.upstreamBytes(count: 500))
        _ = m.handle(.clientFull)
        XCTAssertEqual(m.handle(.upstreamBytes(count: 500)), .forward)
        XCTAssertEqual(m.handle(.clientFull), .pauseUpstream)
        XCTAssertEqual(m.handle(.clientDrained), .resumeUpstream)
    }

    func testADrainWithoutAPauseResumesNothing() {
        // A write can fill the ring without a read being refused: its drain still comes.
        var m = StreamStateMachine()
        _ = m.handle(.upstreamBytes(count: 500))
        XCTAssertEqual(m.handle(.clientDrained), .none)
        XCTAssertEqual(m.state, .flowing)
    }

    func testDoneHoldsFromItsReadOnUntilTheCommitReleasesThem() {
        var m = holding(100)
        XCTAssertEqual(m.state, .holding(Hold(bytes: 100)))
        XCTAssertEqual(m.handle(.upstreamBytes(count: 20)), .hold, "what follows [DONE] waits too")
        XCTAssertEqual(m.state, .holding(Hold(bytes: 120)))
        XCTAssertEqual(m.handle(.commitReleased), .writeTail)
        XCTAssertEqual(m.handle(.tailWritten), .none)
        XCTAssertEqual(m.state, .flowing)
        XCTAssertEqual(m.handle(.upstreamBytes(count: 5)), .forward, "after the release bytes flow again")
    }

    func testADrainBeforeTheReleaseWritesNothing() {
        var m = holding()
        XCTAssertEqual(m.handle(.clientDrained), .none)
        XCTAssertEqual(m.state, .holding(Hold(bytes: 100)))
    }

    func testAReleasedTailWaitsForRoomInTheRing() {
        var m = holding()
        XCTAssertEqual(m.handle(.commitReleased), .writeTail)
        // The ring had no room: the runtime waits for its drain.
        XCTAssertEqual(m.state, .holding(Hold(bytes: 100, released: true)))
        XCTAssertEqual(m.handle(.clientDrained), .writeTail)
        XCTAssertEqual(m.handle(.tailWritten), .none)
        XCTAssertEqual(m.state, .flowing)
    }

    func testReadsPastTheHoldBoundPauseTheUpstreamUntilTheTailGoes() {
        var m = holding(60, limit: 100)
        XCTAssertEqual(m.handle(.upstreamBytes(count: 40)), .hold, "up to the bound")
        XCTAssertEqual(m.handle(.upstreamBytes(count: 1)), .pauseUpstream)
        XCTAssertEqual(m.state, .holding(Hold(bytes: 100, upstream: .paused)))
        XCTAssertEqual(m.handle(.commitReleased), .writeTail)
        XCTAssertEqual(m.handle(.tailWritten), .resumeUpstream)
        XCTAssertEqual(m.handle(.upstreamBytes(count: 1)), .forward, "the refused read goes now")
    }

    func testTheDefaultHoldBoundIs64KiB() {
        var m = holding(64 << 10 - 10)
        XCTAssertEqual(m.handle(.upstreamBytes(count: 10)), .hold)
        XCTAssertEqual(m.handle(.upstreamBytes(count: 1)), .pauseUpstream)
    }

    func testTheUpstreamEndingWhileHeldEndsTheStreamOnlyAfterTheRelease() {
        var m = holding()
        XCTAssertEqual(m.handle(.upstreamDone(completed: true)), .none, "the end waits for the commit")
        XCTAssertFalse(m.isFinished)
        XCTAssertEqual(m.handle(.commitReleased), .writeTail)
        XCTAssertEqual(m.handle(.tailWritten), .endStream(completed: true))
        XCTAssertTrue(m.isFinished)
    }

    func testAnUpstreamFailingWhilePausedPastTheBoundEndsAfterTheTail() {
        var m = holding(100, limit: 100)
        XCTAssertEqual(m.handle(.upstreamBytes(count: 1)), .pauseUpstream)
        XCTAssertEqual(m.handle(.upstreamDone(completed: false)), .none)
        XCTAssertEqual(m.handle(.commitReleased), .writeTail)
        XCTAssertEqual(m.handle(.tailWritten), .endStream(completed: false), "nothing to resume: it ended")
    }

    func testAReleaseWithNothingHeldGoesOnAtOnce() {
        var m = holding(0)
        XCTAssertEqual(m.handle(.commitReleased), .none)
        XCTAssertEqual(m.state, .flowing)
        var ended = holding(0)
        _ = ended.handle(.upstreamDone(completed: true))
        XCTAssertEqual(ended.handle(.commitReleased), .endStream(completed: true))
    }

    func testASecondReleaseIsIgnored() {
        var m = holding()
        XCTAssertEqual(m.handle(.commitReleased), .writeTail)
        XCTAssertEqual(m.handle(.commitReleased), .none)
        XCTAssertEqual(m.handle(.tailWritten), .none)
        XCTAssertEqual(m.state, .flowing)
    }

    func testTheClientLeavingWhileHeldAbandonsTheStream() {
        for upstreamEnded in [false, true] {
            var m = holding()
            if upstreamEnded { _ = m.handle(.upstreamDone(completed: true)) }
            XCTAssertEqual(m.handle(.clientGone), .abandon, "upstream ended: \(upstreamEnded)")
            XCTAssertTrue(m.isFinished)
            XCTAssertEqual(m.handle(.commitReleased), .none, "the late release finds nothing to do")
        }
    }

    func testTheClientLeavingAbandonsInEveryLiveState() {
        var flowing = StreamStateMachine()
        XCTAssertEqual(flowing.handle(.clientGone), .abandon)
        var paused = StreamStateMachine()
        _ = paused.handle(.upstreamBytes(count: 1))
        _ = paused.handle(.clientFull)
        XCTAssertEqual(paused.handle(.clientGone), .abandon)
        var released = holding()
        _ = released.handle(.commitReleased)
        XCTAssertEqual(released.handle(.clientGone), .abandon)
    }

    func testTheUpstreamEndingEndsTheStream() {
        var completed = StreamStateMachine()
        _ = completed.handle(.upstreamBytes(count: 10))
        XCTAssertEqual(completed.handle(.upstreamDone(completed: true)), .endStream(completed: true))
        var failed = StreamStateMachine()
        XCTAssertEqual(failed.handle(.upstreamDone(completed: false)), .endStream(completed: false))
        var paused = StreamStateMachine()
        _ = paused.handle(.upstreamBytes(count: 10))
        _ = paused.handle(.clientFull)
        XCTAssertEqual(paused.handle(.upstreamDone(completed: false)), .endStream(completed: false))
    }

    func testAfterTheEndEveryEventIsANoOpAndReadsAreDropped() {
        var m = StreamStateMachine()
        XCTAssertEqual(m.handle(.upstreamDone(completed: true)), .endStream(completed: true))
        XCTAssertEqual(m.handle(.commitReleased), .none, "a release after the end")
        XCTAssertEqual(m.handle(.tailWritten), .none)
        XCTAssertEqual(m.handle(.clientDrained), .none)
        XCTAssertEqual(m.handle(.clientGone), .none)
        XCTAssertEqual(m.handle(.upstreamDone(completed: true)), .none)
        XCTAssertEqual(m.handle(.upstreamBytes(count: 3)), .drop)
        XCTAssertEqual(m.state, .finished)
    }

    /// Every sequence of up to six events: the stream ends at most once, by `.endStream` or
    /// `.abandon`; the machine is finished exactly when it did; nothing but `.none` or `.drop`
    /// follows.
    func testEveryEventSequenceEndsTheStreamAtMostOnce() {
        let events: [StreamStateMachine.Event] = [
            .upstreamBytes(count: 40), .clientFull, .commitAwaited(count: 40), .clientDrained,
            .commitReleased, .tailWritten, .upstreamDone(completed: true), .clientGone,
        ]
        var sequences = 0, ended = 0
        var violations: [String] = []
        func walk(_ m: StreamStateMachine, trail: [StreamStateMachine.Event], ends: Int) {
            sequences += 1
            if ends > 0 { ended += 1 }
            guard trail.count < 6, violations.count < 5 else { return }
            for e in events {
                var next = m
                let action = next.handle(e)
                var n = ends
                if case .endStream = action { n += 1 }
                if action == .abandon { n += 1 }
                if ends > 0 && action != .none && action != .drop { violations.append("\(action) after the end: \(trail + [e])") }
                if n > 1 { violations.append("ended twice: \(trail + [e])") }
                if next.isFinished != (n > 0) { violations.append("finished \(next.isFinished) after \(n) ends: \(trail + [e])") }
                walk(next, trail: trail + [e], ends: n)
            }
        }
        walk(StreamStateMachine(holdLimit: 60), trail: [], ends: 0)
        XCTAssertEqual(violations, [])
        XCTAssertEqual(sequences, (0 ... 6).reduce(0) { $0 + Int(pow(8.0, Double($1))) })
        XCTAssertGreaterThan(ended, sequences / 2, "most sequences reach an end")
    }
}

/// The capture side of a stream, read by read.
final class StreamRecorderTests: XCTestCase {
    func testSaysDoneOnTheReadThatCarriesIt() throws {
        let events = MiMoStream.textAnswer
        var r = StreamRecorder()
        XCTAssertFalse(r.feed(MiMoStream.sse(Array(events.dropLast()))))
        let done = MiMoStream.sse(["[DONE]"])
        XCTAssertTrue(done.withUnsafeBytes { r.feed($0) })
        let choices = try XCTUnwrap(r.finish(completed: true))
        XCTAssertEqual(choices.first?.content, utf8("Hello, world!"))
        XCTAssertEqual(choices.first?.finishReason, "stop")
    }

    func testAReadCutAnywhereGivesTheSameAnswer() throws {
        let bytes = MiMoStream.sse(MiMoStream.toolAnswer, lineEnd: "\r\n")
        var whole = StreamRecorder()
        XCTAssertTrue(whole.feed(bytes))
        let expected = try XCTUnwrap(whole.finish(completed: true))
        for cut in stride(from: 1, to: bytes.count, by: 7) {
            var r = StreamRecorder()
            let first = r.feed(Array(bytes[..<cut]))
            if cut < bytes.count - 12 { XCTAssertFalse(first, "cut at \(cut)") }
            XCTAssertTrue(r.feed(Array(bytes[cut...])), "cut at \(cut)")
            XCTAssertEqual(r.finish(completed: true), expected, "cut at \(cut)")
        }
    }

    func testALastEventWithoutItsBlankLineCountsOnlyIfTheUpstreamCompleted() throws {
        var bytes = MiMoStream.sse(Array(MiMoStream.textAnswer.dropLast()))
        bytes += utf8("data: [DONE]")
        var completed = StreamRecorder()
        XCTAssertFalse(completed.feed(bytes), "the event is not dispatched yet")
        XCTAssertNotNil(completed.finish(completed: true))
        var failed = StreamRecorder()
        _ = failed.feed(bytes)
        XCTAssertNil(failed.finish(completed: false))
    }

    func testACaptureThatWouldPassItsBoundIsDroppedAndTheStreamNotRecorded() throws {
        let bytes = MiMoStream.sse(MiMoStream.toolAnswer)
        var unbounded = StreamRecorder()
        XCTAssertTrue(unbounded.feed(bytes))
        XCTAssertNotNil(unbounded.finish(completed: true))
        var bounded = StreamRecorder(limit: 16)
        XCTAssertFalse(bounded.feed(bytes), "past the bound [DONE] is no longer looked for")
        XCTAssertTrue(bounded.isOverLimit)
        XCTAssertFalse(bounded.feed(bytes))
        XCTAssertNil(bounded.finish(completed: true))
    }

    func testAnEventWithoutItsEndCountsTowardsTheBound() {
        var r = StreamRecorder(limit: 1000)
        XCTAssertFalse(r.feed(utf8("data: {\"id\":\"" + String(repeating: "x", count: 2000))))
        XCTAssertTrue(r.isOverLimit, "a partial event held by the parser is held memory too")
    }

    func testAStreamCutBeforeItsFinishReasonRecordsNothing() {
        var r = StreamRecorder()
        XCTAssertFalse(r.feed(MiMoStream.sse(Array(MiMoStream.textAnswer.prefix(4)))))
        XCTAssertNil(r.finish(completed: true))
    }
}

private extension StreamRecorder {
    mutating func feed(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { feed($0) }
    }
}
