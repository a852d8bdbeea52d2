import Foundation
import XCTest

/// Issue 5 through the real processes: what the default store captured survives a restart.
final class StoreRestartTests: XCTestCase {
    private var sim: TestProcess!
    private var stateDirectory = NSTemporaryDirectory() + "thinkback-restart-\(UUID().uuidString)"

    override func setUpWithError() throws {
        sim = try TestProcess("thinkback-sim", arguments: ["--listen", "127.0.0.1:0"])
    }

    override func tearDown() {
        sim?.stop()
        try? FileManager.default.removeItem(atPath: stateDirectory)
    }

    private func startProxy(_ extra: [String] = []) throws -> TestProcess {
        try TestProcess("thinkback", arguments: [
            "--listen", "127.0.0.1:0", "--upstream", "http://127.0.0.1:\(sim.port)/v1",
            "--retry-base-ms", "20", "--state-dir", stateDirectory,
        ] + extra)
    }

    private func ledger() throws -> [String: Int] {
        let stats = try RawHTTPClient.request(port: sim.port, "GET", "/sim/stats").json() ?? [:]
        return (stats["ledger"] as? [String: Int]) ?? [:]
    }

    /// Asks for the weather through `proxy`; returns the history a client that drops
    /// reasoning_content would send next.
    static func firstTurn(_ proxy: TestProcess, auth: [(String, String)] = ProxyFixture.auth) throws -> [String: Any] {
        let first = Array(#"{"model":"mimo-v2.5-pro","messages":[{"role":"user","content":"weather?"}]\#(RestoreTests.tools)}"#.utf8)
        let r1 = try RawHTTPClient.request(port: proxy.port, "POST", "/v1/chat/completions", headers: auth, body: first)
        XCTAssertEqual(r1.status, 200, r1.text)
        let message = try XCTUnwrap(((r1.json()?["choices"] as? [[String: Any]])?.first)?["message"] as? [String: Any])
        let calls = try XCTUnwrap(message["tool_calls"] as? [[String: Any]])
        let assistant: [String: Any] = ["role": "assistant", "content": message["content"] as? String ?? "", "tool_calls": calls]
        var history: [[String: Any]] = [["role": "user", "content": "weather?"], assistant]
        for call in calls { history.append(["role": "tool", "tool_call_id": call["id"] as? String ?? "", "content": "sunny"]) }
        return ["model": "mimo-v2.5-pro", "messages": history,
                "tools": [["type": "function", "function": ["name": "get_weather", "parameters": ["type": "object"]]]]]
    }

    static func secondTurn(_ proxy: TestProcess, _ body: [String: Any], auth: [(String, String)] = ProxyFixture.auth) throws {
        let r2 = try RawHTTPClient.request(port: proxy.port, "POST", "/v1/chat/completions",
                                           headers: auth, body: Array(try JSONSerialization.data(withJSONObject: body)))
        XCTAssertEqual(r2.status, 200, r2.text)
    }

    func testTheDefaultStoreRestoresExactlyAfterARestart() throws {
        let before = try startProxy()
        let next = try Self.firstTurn(before)
        // SIGTERM right after the answer: the batch still waiting for its timer must be
        // written on the way out.
        before.signal(SIGTERM)
        XCTAssertEqual(before.waitForExit(timeout: 10), 0, before.log)
        let file = stateDirectory + "/reasoning.sqlite3"
        XCTAssertTrue(FileManager.default.fileExists(atPath: file))

        let after = try startProxy()
        defer { after.stop() }
        try Self.secondTurn(after, next)
        let ledger = try ledger()
        XCTAssertEqual(ledger["exact"], 1, "\(ledger)")
        XCTAssertEqual(ledger["placeholder"] ?? 0, 0, "\(ledger)")
        XCTAssertEqual(ledger["missing"] ?? 0, 0, "\(ledger)")
        let status = try RawHTTPClient.request(port: after.port, "GET", "/").json() ?? [:]
        let cache = try XCTUnwrap(status["cache"] as? [String: Any])
        XCTAssertEqual(cache["store"] as? String, "sqlite")
        XCTAssertEqual(cache["store_state"] as? String, "ok")
    }

    func testTheMemoryStoreForgetsOnRestart() throws {
        // The control: the same steps with --store memory lose the reasoning, so the test
        // above would notice a store that does not persist.
        let before = try startProxy(["--store", "memory"])
        let next = try Self.firstTurn(before)
        before.signal(SIGTERM)
        XCTAssertEqual(before.waitForExit(timeout: 10), 0)
        let after = try startProxy(["--store", "memory"])
        defer { after.stop() }
        try Self.secondTurn(after, next)
        XCTAssertEqual(try ledger()["exact"] ?? 0, 0)
    }

    func testAnotherTenantCannotRestoreWhatSurvived() throws {
        let before = try startProxy()
        let next = try Self.firstTurn(before)
        before.signal(SIGTERM)
        XCTAssertEqual(before.waitForExit(timeout: 10), 0)
        let after = try startProxy()
        defer { after.stop() }
        let other = [("Authorization", "Bearer test-key-B"), ("Content-Type", "application/json")]
        try Self.secondTurn(after, next, auth: other)
        let ledger = try ledger()
        XCTAssertEqual(ledger["exact"] ?? 0, 0, "\(ledger)")
        XCTAssertEqual(ledger["foreign"] ?? 0, 0, "\(ledger)")
    }
}
