import Foundation
import XCTest

/// Issue 2: limits, timeouts and retries.
final class FailureTests: XCTestCase {
    var fixture: ProxyFixture?
    override func tearDown() { fixture?.stop() }

    func testAnUpstreamThatRestartedIsReachedOnAFreshConnection() throws {
        // The pooled connection to the old upstream is dead (its socket's event was parked
        // while idle, cle_loop.c): the next request must open a new one, with no retry.
        let port = try TestProcess.freeLoopbackPort()
        var sim = try TestProcess("thinkback-sim", arguments: ["--listen", "127.0.0.1:\(port)"])
        let proxy = try TestProcess("thinkback", arguments: [
            "--listen", "127.0.0.1:0", "--upstream", "http://127.0.0.1:\(port)/v1", "--retries", "0",
            "--state-dir", NSTemporaryDirectory() + "thinkback-test-\(UUID().uuidString)",
        ])
        defer { proxy.stop(); sim.stop() }
        for round in 0 ..< 3 {
            let r = try RawHTTPClient.request(port: proxy.port, "POST", "/v1/chat/completions",
                                              headers: ProxyFixture.auth, body: ProxyFixture.chatBody(stream: round == 1))
            XCTAssertEqual(r.status, 200, "round \(round): \(String(decoding: r.body, as: UTF8.self))")
            sim.stop()
            usleep(200_000)               // the old connection's end reaches the proxy
            sim = try TestProcess("thinkback-sim", arguments: ["--listen", "127.0.0.1:\(port)"])
        }
    }

    func testOversizedBodyIs413() throws {
        let f = try ProxyFixture(simArguments: ["--fast", "on"], proxyArguments: ["--max-body-bytes", "1000"])
        fixture = f
        let big = ProxyFixture.chatBody(stream: false, extra: #","pad":"\#(String(repeating: "x", count: 5000))""#)
        let r = try RawHTTPClient.request(port: f.proxy.port, "POST", "/v1/chat/completions", headers: ProxyFixture.auth, body: big)
        XCTAssertEqual(r.status, 413)
    }

    func testUnreachableUpstreamIs502() throws {
        // A port that nothing listens on: bind one, read it, close it.
        let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in(); addr.sin_family = sa_family_t(AF_INET); addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(s, $0, &len) } }
        let deadPort = UInt16(bigEndian: addr.sin_port)
        close(s)
        let proxy = try TestProcess("thinkback", arguments: ["--listen", "127.0.0.1:0", "--upstream", "http://127.0.0.1:\(deadPort)/v1",
                                                            "--retries", "2", "--retry-base-ms", "10"])
        defer { proxy.stop() }
        let r = try RawHTTPClient.request(port: proxy.port, "POST", "/v1/chat/completions", headers: ProxyFixture.auth,
                                          body: ProxyFixture.chatBody(stream: false))
        XCTAssertEqual(r.status, 502)
        XCTAssertEqual((r.json()?["error"] as? [String: Any])?["code"] as? String, "upstream_unreachable")
    }

    func testSilentUpstreamIs504AfterTheFirstByteDeadline() throws {
        // Whole answers and streams each have their own deadline.
        for (flag, stream) in [("--first-byte-timeout-ms", false), ("--stream-first-byte-timeout-ms", true)] {
            let f = try ProxyFixture(proxyArguments: [flag, "300"])
            fixture = f
            let started = Date()
            let r = try RawHTTPClient.request(port: f.proxy.port, "POST", "/v1/chat/completions",
                                              headers: ProxyFixture.auth + [("x-sim-ttfb-ms", "5000")],
                                              body: ProxyFixture.chatBody(stream: stream))
            XCTAssertEqual(r.status, 504, flag)
            XCTAssertLessThan(Date().timeIntervalSince(started), 3, flag)
            f.stop()
        }
    }

    func testRetriesA503BeforeTheFirstByteAndSucceeds() throws {
        let f = try ProxyFixture()
        fixture = f
        let r = try RawHTTPClient.request(port: f.proxy.port, "POST", "/v1/chat/completions",
                                          headers: ProxyFixture.auth + [("x-sim-status", "503"), ("x-sim-fail-times", "2"),
                                                                        ("x-sim-fault-id", "retry-\(UUID().uuidString)")],
                                          body: ProxyFixture.chatBody(stream: true))
        XCTAssertEqual(r.status, 200)
        XCTAssertTrue(r.text.contains("[DONE]"))
    }

    func testHonoursRetryAfterOn429() throws {
        let f = try ProxyFixture()
        fixture = f
        let started = Date()
        let r = try RawHTTPClient.request(port: f.proxy.port, "POST", "/v1/chat/completions",
                                          headers: ProxyFixture.auth + [("x-sim-status", "429"), ("x-sim-retry-after", "1"),
                                                                        ("x-sim-fail-times", "1"),
                                                                        ("x-sim-fault-id", "ra-\(UUID().uuidString)")],
                                          body: ProxyFixture.chatBody(stream: false))
        XCTAssertEqual(r.status, 200)
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(started), 0.9, "Retry-After: 1 must be waited for")
    }

    func testGivesTheProvidersAnswerWhenRetriesRunOut() throws {
        let f = try ProxyFixture(proxyArguments: ["--retries", "2"])
        fixture = f
        let r = try RawHTTPClient.request(port: f.proxy.port, "POST", "/v1/chat/completions",
                                          headers: ProxyFixture.auth + [("x-sim-status", "503"), ("x-sim-fail-times", "5"),
                                                                        ("x-sim-fault-id", "out-\(UUID().uuidString)")],
                                          body: ProxyFixture.chatBody(stream: false))
        XCTAssertEqual(r.status, 503, "the provider's own error passes through")
    }

    func testSigtermDrainsInFlightStreamsThenExits0() throws {
        let f = try ProxyFixture()
        fixture = f
        let c = try RawHTTPClient(port: f.proxy.port)
        try c.send("POST", "/v1/chat/completions", headers: ProxyFixture.auth + [("x-sim-interval-ms", "30")],
                   body: ProxyFixture.chatBody(stream: true))
        var first = true
        var response: RawHTTPClient.Response?
        response = try c.readResponse { _, _ in
            if first { first = false; f.proxy.signal(SIGTERM) }
            return true
        }
        XCTAssertEqual(response?.completed, true, "the in-flight stream finishes during the drain")
        XCTAssertEqual(f.proxy.waitForExit(timeout: 10), 0)
        XCTAssertThrowsError(try RawHTTPClient(port: f.proxy.port), "no longer listening")
    }

    func testASecondSignalDuringTheDrainExitsAtOnce() throws {
        let f = try ProxyFixture()
        fixture = f
        let c = try RawHTTPClient(port: f.proxy.port)
        // A stream that would take ~10 s (200 events 50 ms apart): the drain would wait for it.
        try c.send("POST", "/v1/chat/completions", headers: ProxyFixture.auth + [("x-sim-interval-ms", "50"),
                                                                              ("x-sim-reasoning-length", "2400")],
                   body: ProxyFixture.chatBody(stream: true))
        var events = 0
        _ = try? c.readResponse { _, _ in
            events += 1
            if events == 2 { f.proxy.signal(SIGTERM) }
            if events == 6 {
                XCTAssertNil(f.proxy.waitForExit(timeout: 0.2), "the first signal drains: the stream goes on")
                f.proxy.signal(SIGTERM)
                return false
            }
            return true
        }
        XCTAssertEqual(f.proxy.waitForExit(timeout: 3), 0, "the second signal stops it at once, exit status 0")
    }
}
