import Foundation
import XCTest

/// Issue 17: thinkback's own errors say where they came from and whether a retry is allowed
/// (a `thinkback-error` header and the log line); a provider's errors pass as it wrote them.
final class ErrorReplyTests: XCTestCase {
    var fixture: ProxyFixture?
    override func tearDown() { fixture?.stop() }

    func testAnUnreachableProviderIsAnUpstreamErrorARetryMayGoAgain() throws {
        let deadPort = try TestProcess.freeLoopbackPort()   // bound, read back and closed: nothing listens
        let proxy = try TestProcess("thinkback", arguments: [
            "--listen", "127.0.0.1:0", "--upstream", "http://127.0.0.1:\(deadPort)/v1", "--retries", "0",
            "--state-dir", NSTemporaryDirectory() + "thinkback-test-\(UUID().uuidString)",
        ])
        defer { proxy.stop() }
        let r = try RawHTTPClient.request(port: proxy.port, "POST", "/v1/chat/completions", headers: ProxyFixture.auth,
                                          body: ProxyFixture.chatBody(stream: true))
        XCTAssertEqual(r.status, 502)
        XCTAssertEqual(r.header("thinkback-error"), "origin=upstream retryable=true")
        XCTAssertEqual((r.json()?["error"] as? [String: Any])?["code"] as? String, "upstream_unreachable")
        var logged: Substring = ""
        XCTAssertTrue(ProxyFixture.eventually {
            logged = proxy.log.split(separator: "\n").first { $0.hasSuffix("error reply") } ?? ""
            return !logged.isEmpty
        }, proxy.log)
        for field in ["warning", "code=upstream_unreachable", "origin=upstream", "retryable=true", "status=502", "request_id="] {
            XCTAssertTrue(logged.contains(field), "\(field) in: \(logged)")
        }
    }

    func testTheClientsOwnFaultsAreClientErrorsNotToBeRetried() throws {
        let f = try ProxyFixture()
        fixture = f
        let unknown = try RawHTTPClient.request(port: f.proxy.port, "GET", "/v2/nothing?key=secret")
        XCTAssertEqual(unknown.status, 404)
        XCTAssertEqual(unknown.header("thinkback-error"), "origin=client retryable=false")
        let invalid = try RawHTTPClient.request(port: f.proxy.port, "POST", "/v1/chat/completions", headers: ProxyFixture.auth,
                                                body: Array(#"{"model":"m","messages":[}"#.utf8))
        XCTAssertEqual(invalid.status, 400)
        XCTAssertEqual(invalid.header("thinkback-error"), "origin=client retryable=false")
        var lines: [Substring] = []
        XCTAssertTrue(ProxyFixture.eventually {
            lines = f.proxy.log.split(separator: "\n").filter { $0.hasSuffix("error reply") }
            return lines.count == 2
        }, f.proxy.log)
        for line in lines {
            XCTAssertTrue(line.contains(" info ") && line.contains("origin=client") && line.contains("retryable=false"), "\(line)")
            XCTAssertFalse(line.contains("secret") || line.contains("messages"), "a client's request is never quoted: \(line)")
        }
    }

    func testAProvidersOwnErrorPassesWithoutTheHeader() throws {
        let f = try ProxyFixture(proxyArguments: ["--retries", "0"])
        fixture = f
        let r = try RawHTTPClient.request(port: f.proxy.port, "POST", "/v1/chat/completions",
                                          headers: ProxyFixture.auth + [("x-sim-status", "503")],
                                          body: ProxyFixture.chatBody(stream: false))
        XCTAssertEqual(r.status, 503)
        XCTAssertNil(r.header("thinkback-error"), "the provider's error is not thinkback's")
    }

    func testAStreamBrokenMidwayIsLoggedAsAnUpstreamErrorNotToBeRetried() throws {
        let f = try ProxyFixture()
        fixture = f
        let r = try RawHTTPClient.request(port: f.proxy.port, "POST", "/v1/chat/completions",
                                          headers: ProxyFixture.auth + [("x-sim-drop-after", "3")],
                                          body: ProxyFixture.chatBody(stream: true))
        XCTAssertEqual(r.status, 200)
        XCTAssertNil(r.header("thinkback-error"), "the head went out before the failure")
        var logged: Substring?
        XCTAssertTrue(ProxyFixture.eventually {
            logged = f.proxy.log.split(separator: "\n").first { $0.hasSuffix("upstream failed mid-stream") }
            return logged != nil
        }, f.proxy.log)
        for field in ["warning", "origin=upstream", "retryable=false"] {
            XCTAssertTrue(logged?.contains(field) ?? false, "\(field) in: \(logged ?? "")")
        }
    }
}
