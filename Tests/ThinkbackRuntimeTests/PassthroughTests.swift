import Foundation
import XCTest

/// Issue 2: the proxy passes OpenAI-compatible traffic through on the event loop.
final class PassthroughTests: XCTestCase {
    var fixture: ProxyFixture!

    override func setUpWithError() throws {
        fixture = try ProxyFixture(simArguments: ["--fast", "on"])
    }

    override func tearDown() {
        fixture?.stop()
    }

    func testNonStreamPassthroughIsByteIdentical() throws {
        let body = ProxyFixture.chatBody(stream: false)
        let direct = try RawHTTPClient.request(port: fixture.sim.port, "POST", "/v1/chat/completions",
                                               headers: ProxyFixture.auth, body: body)
        let proxied = try RawHTTPClient.request(port: fixture.proxy.port, "POST", "/v1/chat/completions",
                                                headers: ProxyFixture.auth, body: body)
        XCTAssertEqual(direct.status, 200)
        XCTAssertEqual(proxied.status, direct.status)
        XCTAssertEqual(proxied.header("content-type"), direct.header("content-type"))
        // Fast-mode answers are canned except for their id, which counts requests.
        XCTAssertEqual(Self.maskingID(proxied.body), Self.maskingID(direct.body),
                       "the proxy must not change a byte")
        XCTAssertNotEqual(Self.maskingID(direct.body), direct.body, "the answer has an id to mask")
    }

    func testLargeBodiesReachTheUpstreamByteForByte() throws {
        // Bodies past libevent's 4 KiB read are read in one go by the proxy (cle_server.c):
        // around that size and far past it, on one keep-alive connection, the upstream must
        // get exactly the client's bytes.
        let c = try RawHTTPClient(port: fixture.proxy.port)
        c.setTimeout(20)
        for size in [4000, 4095, 4096, 4097, 8193, 70_000, 300_000, 1_100_000] {
            let unit = #"line \"quoted\" 北京 \\ tab\t end\n"#
            var pad = ""
            while pad.utf8.count < size { pad += unit }
            let body = ProxyFixture.chatBody(stream: false, extra: #","pad":""# + pad + #"""#)
            try c.send("POST", "/v1/chat/completions", headers: ProxyFixture.auth, body: body)
            XCTAssertEqual(try c.readResponse().status, 200, "\(body.count) bytes")
            let seen = try RawHTTPClient.request(port: fixture.sim.port, "GET", "/sim/last?n=1")
            XCTAssertEqual(seen.body.count, body.count)
            XCTAssertTrue(seen.body == body, "the upstream got other bytes for a \(body.count)-byte body")
        }
    }

    func testProxyVariablesOfTheEnvironmentAreStillHonoured() throws {
        // thinkback reads the proxy variables once instead of letting curl read them per
        // transfer; one that is set must still route the upstream request through it (here a
        // port nobody listens on: the request cannot get through, so 502).
        let viaDeadProxy = try ProxyFixture(proxyArguments: ["--retries", "0"], proxyEnvironment: [
            "http_proxy": "http://127.0.0.1:1", "no_proxy": "", "NO_PROXY": "",
        ])
        defer { viaDeadProxy.stop() }
        let r = try RawHTTPClient.request(port: viaDeadProxy.proxy.port, "POST", "/v1/chat/completions",
                                          headers: ProxyFixture.auth, body: ProxyFixture.chatBody(stream: false))
        XCTAssertEqual(r.status, 502, String(decoding: r.body, as: UTF8.self))
        // And without one, the same request goes straight to the upstream.
        let direct = try RawHTTPClient.request(port: fixture.proxy.port, "POST", "/v1/chat/completions",
                                               headers: ProxyFixture.auth, body: ProxyFixture.chatBody(stream: false))
        XCTAssertEqual(direct.status, 200)
    }

    /// The body with the value of its first `"id"` replaced by `*`.
    static func maskingID(_ body: [UInt8]) -> [UInt8] {
        let key = Array(#""id":""#.utf8)
        guard let start = body.indices.first(where: { body[$0...].starts(with: key) }) else { return body }
        let valueStart = start + key.count
        guard let end = body[valueStart...].firstIndex(of: UInt8(ascii: "\"")) else { return body }
        return Array(body[..<valueStart]) + [UInt8(ascii: "*")] + Array(body[end...])
    }

    func testModelsListIsProxied() throws {
        let direct = try RawHTTPClient.request(port: fixture.sim.port, "GET", "/v1/models", headers: ProxyFixture.auth)
        let proxied = try RawHTTPClient.request(port: fixture.proxy.port, "GET", "/v1/models", headers: ProxyFixture.auth)
        XCTAssertEqual(proxied.status, 200)
        XCTAssertEqual(proxied.body, direct.body)
    }

    func testCredentialPassesThroughAsSent() throws {
        // Without a credential the simulator answers 401; with api-key it accepts.
        let none = try RawHTTPClient.request(port: fixture.proxy.port, "POST", "/v1/chat/completions",
                                             headers: [("Content-Type", "application/json")],
                                             body: ProxyFixture.chatBody(stream: false))
        XCTAssertEqual(none.status, 401)
        let apiKey = try RawHTTPClient.request(port: fixture.proxy.port, "POST", "/chat/completions",
                                               headers: [("api-key", "k2"), ("Content-Type", "application/json")],
                                               body: ProxyFixture.chatBody(stream: false))
        XCTAssertEqual(apiKey.status, 200)
    }

    func testUnknownRouteIs404WithOpenAIShapedError() throws {
        let r = try RawHTTPClient.request(port: fixture.proxy.port, "GET", "/v2/nothing-here")
        XCTAssertEqual(r.status, 404)
        let error = r.json()?["error"] as? [String: Any]
        XCTAssertEqual(error?["code"] as? String, "not_found")
        XCTAssertNotNil(error?["message"] as? String)
        XCTAssertEqual(r.header("thinkback-error"), "origin=client retryable=false")
    }

    /// A path under /v1/ that thinkback does not serve itself is the provider's to answer
    /// (issue 19): its 404, as it wrote it, not thinkback's.
    func testUnknownPathsUnderV1AreTheProvidersToAnswer() throws {
        let r = try RawHTTPClient.request(port: fixture.proxy.port, "GET", "/v1/nothing-here")
        XCTAssertEqual(r.status, 404)
        XCTAssertNil(r.header("thinkback-error"))
        let error = r.json()?["error"] as? [String: Any]
        XCTAssertEqual(error?["message"] as? String, "Not found: GET /v1/nothing-here")
    }

    func testLocalEndpoints() throws {
        XCTAssertEqual(try RawHTTPClient.request(port: fixture.proxy.port, "GET", "/health").status, 200)
        XCTAssertEqual(try RawHTTPClient.request(port: fixture.proxy.port, "GET", "/ready").status, 200)
        let status = try RawHTTPClient.request(port: fixture.proxy.port, "GET", "/").json()
        XCTAssertEqual(status?["name"] as? String, "thinkback")
        XCTAssertNotNil(status?["in_flight"] as? [String: Any])
        XCTAssertNotNil(status?["uptime_seconds"] as? Int)
    }

    func testKeepAliveServesSeveralRequestsOnOneConnection() throws {
        let c = try RawHTTPClient(port: fixture.proxy.port)
        for _ in 0..<3 {
            try c.send("POST", "/v1/chat/completions", headers: ProxyFixture.auth, body: ProxyFixture.chatBody(stream: false))
            XCTAssertEqual(try c.readResponse().status, 200)
        }
    }
}
