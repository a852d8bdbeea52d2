import Foundation
import XCTest

/// Issue 2: streams reach the client event by event, bounded, and cancel with the client.
final class StreamingTests: XCTestCase {
    var fixture: ProxyFixture!

    override func tearDown() {
        fixture?.stop()
    }

    func testFirstEventArrivesBeforeTheUpstreamFinished() throws {
        fixture = try ProxyFixture()
        let c = try RawHTTPClient(port: fixture.proxy.port)
        try c.send("POST", "/v1/chat/completions",
                   headers: ProxyFixture.auth + [("x-sim-interval-ms", "40")],
                   body: ProxyFixture.chatBody(stream: true))
        let r = try c.readResponse()
        XCTAssertEqual(r.status, 200)
        XCTAssertTrue(r.completed)
        XCTAssertTrue(r.header("content-type")?.hasPrefix("text/event-stream") ?? false)
        XCTAssertGreaterThan(r.chunks.count, 5)
        let first = r.chunks.first!.time, last = r.chunks.last!.time
        // Events are 40 ms apart upstream: the first must not wait for the last.
        XCTAssertLessThan(first, last - 0.2, "first event at \(first)s, last at \(last)s")
        XCTAssertTrue(r.text.contains("data: [DONE]"))
    }

    /// Events sent back to back reach the proxy several per read; what one read brought goes
    /// to the client as one HTTP chunk. After de-chunking, the client must see the upstream's
    /// bytes exactly: two simulators with the same seed, each asked once, answer the same
    /// bytes (but for ids and timestamps), one straight, one through the proxy.
    func testBackToBackEventsReachTheClientAsTheUpstreamSentThem() throws {
        fixture = try ProxyFixture()
        let twin = try ProxyFixture()
        defer { twin.stop() }
        let headers = ProxyFixture.auth + [("x-sim-reasoning-length", "20000"), ("x-sim-fragment", "40")]
        let direct = try RawHTTPClient.request(port: twin.sim.port, "POST", "/v1/chat/completions",
                                               headers: headers, body: ProxyFixture.chatBody(stream: true))
        let proxied = try RawHTTPClient.request(port: fixture.proxy.port, "POST", "/v1/chat/completions",
                                                headers: headers, body: ProxyFixture.chatBody(stream: true))
        XCTAssertEqual(proxied.status, 200)
        let events = direct.text.components(separatedBy: "\n\n").count - 1
        XCTAssertGreaterThan(events, 300, "the test needs many events sent back to back")
        func masked(_ text: String) -> String {
            text.replacingOccurrences(of: #""id":"[^"]*""#, with: #""id":"*""#, options: .regularExpression)
                .replacingOccurrences(of: #""created":[0-9]+"#, with: #""created":0"#, options: .regularExpression)
        }
        XCTAssertEqual(masked(proxied.text), masked(direct.text))
        XCTAssertTrue(proxied.text.hasSuffix("data: [DONE]\n\n"))
    }

    /// Streams get curl's smallest receive buffer (1 KiB): events several times larger must
    /// still arrive whole and in order.
    func testEventsLargerThanTheStreamBufferArriveWhole() throws {
        fixture = try ProxyFixture(proxyArguments: ["--stream-buffer-bytes", "1024"])
        let c = try RawHTTPClient(port: fixture.proxy.port)
        try c.send("POST", "/v1/chat/completions",
                   headers: ProxyFixture.auth + [("x-sim-fragment", "3000"), ("x-sim-reasoning-length", "9000")],
                   body: ProxyFixture.chatBody(stream: true))
        let r = try c.readResponse()
        XCTAssertEqual(r.status, 200)
        XCTAssertTrue(r.completed)
        var reasoning = 0, events = 0, largest = 0
        for line in r.text.split(separator: "\n") where line.hasPrefix("data: ") && line != "data: [DONE]" {
            let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.dropFirst(6).utf8)) as? [String: Any],
                                     "not one whole JSON event: \(line.prefix(80))…")
            events += 1
            largest = max(largest, line.utf8.count)
            let choices = json["choices"] as? [[String: Any]] ?? []
            let delta = choices.first?["delta"] as? [String: Any]
            reasoning += (delta?["reasoning_content"] as? String)?.count ?? 0
        }
        XCTAssertGreaterThan(largest, 2048, "the test needs events larger than the buffer")
        XCTAssertGreaterThan(events, 3)
        XCTAssertGreaterThanOrEqual(reasoning, 8000)
        XCTAssertTrue(r.text.hasSuffix("data: [DONE]\n\n"))
    }

    /// A started stream frees the request's headers and body and the sent response headers;
    /// evhttp still honours the client's Connection header when the stream ends.
    func testStreamEndKeepsOrClosesTheConnectionAsTheClientAsked() throws {
        fixture = try ProxyFixture()
        let c = try RawHTTPClient(port: fixture.proxy.port)
        try c.send("POST", "/v1/chat/completions", headers: ProxyFixture.auth, body: ProxyFixture.chatBody(stream: true))
        let first = try c.readResponse()
        XCTAssertTrue(first.completed)
        XCTAssertTrue(first.text.contains("data: [DONE]"))
        try c.send("POST", "/v1/chat/completions", headers: ProxyFixture.auth, body: ProxyFixture.chatBody(stream: false))
        XCTAssertEqual(try c.readResponse().status, 200, "the same connection serves the next request")

        let closing = try RawHTTPClient(port: fixture.proxy.port)
        try closing.send("POST", "/v1/chat/completions", headers: ProxyFixture.auth + [("Connection", "close")],
                         body: ProxyFixture.chatBody(stream: true))
        XCTAssertTrue(try closing.readResponse().completed)
        closing.setTimeout(5)
        try? closing.send("GET", "/v1/models", headers: ProxyFixture.auth)
        XCTAssertThrowsError(try closing.readResponse(), "the proxy must close after a Connection: close stream") { error in
            guard case RawHTTPClient.ClientError.closed = error else { return XCTFail("\(error)") }
        }
    }

    func testClientDisconnectCancelsTheUpstreamTransfer() throws {
        fixture = try ProxyFixture()
        let c = try RawHTTPClient(port: fixture.proxy.port)
        try c.send("POST", "/v1/chat/completions",
                   headers: ProxyFixture.auth + [("x-sim-interval-ms", "100")],
                   body: ProxyFixture.chatBody(stream: true))
        var seen = 0
        _ = try c.readResponse { _, _ in seen += 1; return seen < 2 }
        c.disconnect()
        let gone = try ProxyFixture.eventually(timeout: 3) { try fixture.transport()["clients_gone"] == 1 }
        let transport = try fixture.transport()
        XCTAssertTrue(gone, "the simulator must see the proxy's upstream connection go: \(transport)")
        XCTAssertEqual(try fixture.transport()["streams_completed"], 0)
    }

    func testClientLeavingBeforeTheAnswerStartsCancelsTheUpstreamTransfer() throws {
        // The request is upstream (no head yet): the client's socket is watched all the same.
        fixture = try ProxyFixture()
        let c = try RawHTTPClient(port: fixture.proxy.port)
        try c.send("POST", "/v1/chat/completions", headers: ProxyFixture.auth + [("x-sim-ttfb-ms", "5000")],
                   body: ProxyFixture.chatBody(stream: true))
        usleep(300_000)
        c.disconnect()
        let gone = try ProxyFixture.eventually(timeout: 3) { try fixture.transport()["clients_gone"] == 1 }
        XCTAssertTrue(gone, "the upstream transfer must be cancelled: \((try? fixture.transport()) ?? [:])")
    }

    func testAClientSendingMoreWhileItsRequestIsUpstreamIsStillWatched() throws {
        // Bytes after the request (a pipelined one) make the socket readable while evhttp is
        // not reading: the watch must neither spin on them nor stop noticing the client leave.
        fixture = try ProxyFixture()
        let c = try RawHTTPClient(port: fixture.proxy.port)
        try c.send("POST", "/v1/chat/completions", headers: ProxyFixture.auth + [("x-sim-ttfb-ms", "5000")],
                   body: ProxyFixture.chatBody(stream: true))
        usleep(200_000)
        try c.sendRaw(Array("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8))
        let before = fixture.proxy.cpuTicks
        usleep(1_000_000)
        let spent = fixture.proxy.cpuTicks - before
        XCTAssertLessThan(spent, 50, "the proxy spun on the pending bytes (\(spent) ticks of CPU in 1 s)")
        c.disconnect()
        let gone = try ProxyFixture.eventually(timeout: 3) { try fixture.transport()["clients_gone"] == 1 }
        XCTAssertTrue(gone, "the upstream transfer must be cancelled: \((try? fixture.transport()) ?? [:])")
    }

    func testSlowReaderPausesTheUpstreamAndKeepsMemoryBounded() throws {
        // A long, fast answer; the client reads nothing. The proxy must pause the upstream
        // (the simulator stops being able to send) rather than buffer the answer.
        // ~14 MB of events: more than loopback's socket buffers can hide (they autotune to MBs).
        fixture = try ProxyFixture(simArguments: ["--reasoning-length", "10000000", "--fragment", "2000"])
        let before = fixture.proxy.rssKiB
        let c = try RawHTTPClient(port: fixture.proxy.port, receiveBuffer: 4096)
        try c.send("POST", "/v1/chat/completions", headers: ProxyFixture.auth, body: ProxyFixture.chatBody(stream: true))
        let (settled, sent) = try waitUntilTheUpstreamStops()
        let grown = fixture.proxy.rssKiB - before
        XCTAssertTrue(settled, "the upstream must be paused while the client does not read (\(sent) events sent)")
        XCTAssertEqual(try fixture.transport()["streams_completed"], 0,
                       "the answer cannot all sit in socket buffers (\(sent) events sent)")
        XCTAssertLessThan(grown, 16 * 1024, "proxy RSS grew by \(grown) KiB")
        // Reading resumes the flow to the end.
        c.setTimeout(30)
        let r = try c.readResponse()
        XCTAssertTrue(r.completed)
        XCTAssertTrue(r.text.hasSuffix("data: [DONE]\n\n"))
    }

    /// Generating an answer takes a moment; then, with a client that reads nothing, the flow
    /// must stop short of the end: whether the simulator's events sent stopped growing, and
    /// how many it sent.
    private func waitUntilTheUpstreamStops() throws -> (Bool, Int) {
        var sent = -1
        let settled = try ProxyFixture.eventually(timeout: 20) {
            let now = try fixture.transport()["events_sent"] ?? 0
            defer { sent = now }
            usleep(500_000)
            return now > 0 && now == sent
        }
        return (settled, sent)
    }

    /// The slow client's queue is bounded in bytes, whatever the size of the chunks: with 64
    /// slots of up to 64 KiB a count alone lets ~0.75 MiB sit queued for one client.
    func testASlowReadersQueueIsBoundedInBytesNotInChunks() throws {
        let bound = 32 << 10
        fixture = try ProxyFixture(
            simArguments: ["--reasoning-length", "20000000", "--fragment", "30000"],
            proxyArguments: ["--stream-buffer-bytes", "65536", "--stream-slots", "64", "--stream-queue-bytes", "\(bound)"])
        let c = try RawHTTPClient(port: fixture.proxy.port, receiveBuffer: 4096)
        try c.send("POST", "/v1/chat/completions", headers: ProxyFixture.auth, body: ProxyFixture.chatBody(stream: true))
        let (settled, _) = try waitUntilTheUpstreamStops()
        XCTAssertTrue(settled, "the upstream must be paused while the client does not read")
        let inFlight = try fixture.proxyStatus()["in_flight"] as? [String: Any]
        let queued = inFlight?["stream_queued_bytes"] as? Int ?? -1
        XCTAssertGreaterThan(queued, 0, "nothing queued: the client should be the bottleneck (\(String(describing: inFlight)))")
        XCTAssertLessThanOrEqual(queued, bound + 65536, "queued past the byte bound plus one chunk")
        c.setTimeout(60)
        let r = try c.readResponse()
        XCTAssertTrue(r.completed)
        XCTAssertTrue(r.text.hasSuffix("data: [DONE]\n\n"))
        let drained = try ProxyFixture.eventually {
            ((try fixture.proxyStatus()["in_flight"] as? [String: Any])?["stream_queued_bytes"] as? Int) == 0
        }
        XCTAssertTrue(drained, "queued bytes must return to 0 once the stream ended")
    }

    func testUpstreamDyingMidStreamEndsTheClientStreamWithoutRetry() throws {
        fixture = try ProxyFixture()
        let c = try RawHTTPClient(port: fixture.proxy.port)
        try c.send("POST", "/v1/chat/completions",
                   headers: ProxyFixture.auth + [("x-sim-drop-after", "3"), ("x-sim-interval-ms", "10")],
                   body: ProxyFixture.chatBody(stream: true))
        c.setTimeout(10)
        let r = try c.readResponse()
        XCTAssertEqual(r.status, 200)
        XCTAssertTrue(r.completed, "the client's stream ends cleanly, no hang")
        XCTAssertFalse(r.text.contains("[DONE]"))
        XCTAssertEqual(try fixture.transport()["streams_started"], 1, "no retry after the first byte")
    }
}

/// Issue 17: the stream's group-commit hold, through the real processes.
final class StreamCommitHoldTests: XCTestCase {
    func testAClientLeavingWhileTheEndWaitsForTheCommitEndsTheExchangeAtOnce() throws {
        let redis = try RedisServer()
        defer { redis.stop() }
        let f = try ProxyFixture(proxyArguments: ["--store", "redis://127.0.0.1:\(redis.port)", "--commit-timeout-ms", "10000"])
        defer { f.stop() }
        func inFlight() throws -> [String: Int] { (try f.proxyStatus()["in_flight"] as? [String: Int]) ?? [:] }
        func commit() throws -> [String: Int] {
            ((try f.proxyStatus()["restore"] as? [String: Any])?["commit"] as? [String: Int]) ?? [:]
        }
        XCTAssertTrue(try ProxyFixture.eventually {
            ((try f.proxyStatus()["cache"] as? [String: Any])?["store_state"] as? String) == "ok"
        })
        // Redis holds every write for 3 s: the answer's capture cannot commit meanwhile.
        XCTAssertEqual(try redis.command("CLIENT PAUSE 3000 WRITE"), "+OK")
        let c = try RawHTTPClient(port: f.proxy.port)
        let body = Array(#"{"model":"mimo-v2.5-pro","stream":true,"messages":[{"role":"user","content":"weather?"}]\#(RestoreTests.tools)}"#.utf8)
        try c.send("POST", "/v1/chat/completions", headers: ProxyFixture.auth + [("x-sim-tool-calls", "1")], body: body)
        XCTAssertTrue(try ProxyFixture.eventually { try commit()["held"] == 1 }, "the tail is held: \((try? commit()) ?? [:])")
        XCTAssertTrue(try ProxyFixture.eventually { try f.transport()["streams_completed"] == 1 },
                      "the upstream finished: the end waits for the commit")
        XCTAssertEqual(try inFlight()["streams"], 1)
        c.disconnect()
        let started = Date()
        XCTAssertTrue(try ProxyFixture.eventually(timeout: 6) { try inFlight()["requests"] == 0 && inFlight()["streams"] == 0 },
                      "the exchange must end when its client leaves: \((try? inFlight()) ?? [:])")
        XCTAssertLessThan(Date().timeIntervalSince(started), 1.5, "without waiting for the commit")
    }
}
