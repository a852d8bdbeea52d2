import Foundation
import XCTest

/// Issue 4 through the real processes: capture from an answer, restore into the next request,
/// invalid JSON refused with its byte offset. (The OpenAI SDK drives the fuller e2e suite.)
final class RestoreTests: XCTestCase {
    var fixture: ProxyFixture!

    override func setUpWithError() throws {
        fixture = try ProxyFixture()
    }

    override func tearDown() {
        fixture?.stop()
    }

    static let tools = #","tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}]"#

    func testInvalidJSONIs400NamingTheByteOffset() throws {
        let r = try RawHTTPClient.request(port: fixture.proxy.port, "POST", "/v1/chat/completions",
                                          headers: ProxyFixture.auth, body: Array(#"{"model":"m","messages":[}"#.utf8))
        XCTAssertEqual(r.status, 400)
        let message = ((r.json()?["error"] as? [String: Any])?["message"] as? String) ?? ""
        XCTAssertTrue(message.contains("byte 25"), message)
        XCTAssertEqual(try fixture.simStats()["chat_requests"] as? Int, 0, "never forwarded")
    }

    func testAToolCallAnswerIsCapturedAndRestoredExactly() throws {
        let first = Array(#"{"model":"mimo-v2.5-pro","messages":[{"role":"user","content":"weather?"}]\#(Self.tools)}"#.utf8)
        let r1 = try RawHTTPClient.request(port: fixture.proxy.port, "POST", "/v1/chat/completions",
                                           headers: ProxyFixture.auth, body: first)
        XCTAssertEqual(r1.status, 200)
        let message = try XCTUnwrap(((r1.json()?["choices"] as? [[String: Any]])?.first)?["message"] as? [String: Any])
        let calls = try XCTUnwrap(message["tool_calls"] as? [[String: Any]])
        XCTAssertFalse(calls.isEmpty)
        // The client drops reasoning_content, as TRAE does.
        let assistant: [String: Any] = ["role": "assistant", "content": message["content"] as? String ?? "", "tool_calls": calls]
        var history: [[String: Any]] = [["role": "user", "content": "weather?"], assistant]
        for call in calls { history.append(["role": "tool", "tool_call_id": call["id"] as? String ?? "", "content": "sunny"]) }
        let second: [String: Any] = ["model": "mimo-v2.5-pro", "messages": history,
                                     "tools": [["type": "function", "function": ["name": "get_weather", "parameters": ["type": "object"]]]]]
        let r2 = try RawHTTPClient.request(port: fixture.proxy.port, "POST", "/v1/chat/completions",
                                           headers: ProxyFixture.auth, body: Array(try JSONSerialization.data(withJSONObject: second)))
        XCTAssertEqual(r2.status, 200, r2.text)
        let ledger = try XCTUnwrap(try fixture.simStats()["ledger"] as? [String: Int])
        XCTAssertEqual(ledger["exact"], 1)
        XCTAssertEqual(ledger["missing"], 0)
        let restore = try XCTUnwrap(try fixture.proxyStatus()["restore"] as? [String: Any])
        XCTAssertEqual(restore["hits_context"] as? Int, 1, "found by its place in the conversation")
        XCTAssertEqual(restore["captured"] as? Int, 1, "the tool-call answer; a plain answer is not kept under restore = tool-calls")
    }

    /// The first turn of a conversation: asks for a tool call and returns the assistant
    /// message (with its reasoning) the answer carried.
    private func firstTurn(on fixture: ProxyFixture) throws -> [String: Any] {
        let first = Array(#"{"model":"mimo-v2.5-pro","messages":[{"role":"user","content":"weather?"}]\#(Self.tools)}"#.utf8)
        let r1 = try RawHTTPClient.request(port: fixture.proxy.port, "POST", "/v1/chat/completions",
                                           headers: ProxyFixture.auth, body: first)
        XCTAssertEqual(r1.status, 200, r1.text)
        return try XCTUnwrap(((r1.json()?["choices"] as? [[String: Any]])?.first)?["message"] as? [String: Any])
    }

    /// The second turn without the reasoning, padded to about `size` bytes: half of the padding
    /// before the assistant message (in the user's message), half after it (in the tool result).
    private func secondTurn(after message: [String: Any], size: Int) throws -> [UInt8] {
        let calls = try XCTUnwrap(message["tool_calls"] as? [[String: Any]])
        let unit = "line \"quoted\" 北京 \\ tab\t end\n"
        let half = String(repeating: unit, count: max(1, size / 2 / unit.utf8.count))
        var history: [[String: Any]] = [["role": "user", "content": "weather? " + half],
                                        ["role": "assistant", "content": message["content"] as? String ?? "", "tool_calls": calls]]
        for call in calls { history.append(["role": "tool", "tool_call_id": call["id"] as? String ?? "", "content": half]) }
        let body: [String: Any] = ["model": "mimo-v2.5-pro", "messages": history,
                                   "tools": [["type": "function", "function": ["name": "get_weather", "parameters": ["type": "object"]]]]]
        return Array(try JSONSerialization.data(withJSONObject: body))
    }

    /// Checks that `seen` (what the upstream got) is `sent` with one insertion, and that the
    /// insertion is the reasoning of `message` under `reasoning_content`.
    private func assertIsSplice(_ seen: [UInt8], of sent: [UInt8], reasoningOf message: [String: Any],
                                file: StaticString = #filePath, line: UInt = #line) throws {
        var prefix = 0
        while prefix < min(seen.count, sent.count), seen[prefix] == sent[prefix] { prefix += 1 }
        var suffix = 0
        while suffix < min(seen.count, sent.count) - prefix, seen[seen.count - 1 - suffix] == sent[sent.count - 1 - suffix] { suffix += 1 }
        XCTAssertEqual(prefix + suffix, sent.count, "every byte the client sent arrives, in order", file: file, line: line)
        var inserted = Array(seen[prefix ..< seen.count - suffix])
        // The insertion is one member and its comma, on one side or the other.
        if inserted.last == UInt8(ascii: ",") { inserted.removeLast() }
        if inserted.first == UInt8(ascii: ",") { inserted.removeFirst() }
        let member = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data([UInt8(ascii: "{")] + inserted + [UInt8(ascii: "}")])) as? [String: Any],
                                   "the insertion is one JSON member: \(String(decoding: inserted.prefix(80), as: UTF8.self))", file: file, line: line)
        XCTAssertEqual(Array(member.keys), ["reasoning_content"], file: file, line: line)
        XCTAssertEqual(member["reasoning_content"] as? String, message["reasoning_content"] as? String, file: file, line: line)
    }

    func testRestoredBodiesOnBothSidesOfTheGatherThresholdReachTheUpstreamAsTheSplice() throws {
        // A restored body from 64 KiB up is not copied: curl gathers the client's bytes and the
        // inserted reasoning (RestoredBody). Below it, one copy. Either way the upstream gets
        // the client's bytes with the reasoning spliced in, and nothing else.
        let message = try firstTurn(on: fixture)
        XCTAssertNotNil(message["reasoning_content"] as? String)
        let c = try RawHTTPClient(port: fixture.proxy.port)
        c.setTimeout(20)
        var exact = 0
        for size in [1_000, 60_000, 65_000, 65_536, 66_000, 70_000, 300_000, 1_100_000] {
            let body = try secondTurn(after: message, size: size)
            try c.send("POST", "/v1/chat/completions", headers: ProxyFixture.auth, body: body)
            let r = try c.readResponse()
            XCTAssertEqual(r.status, 200, "\(body.count) bytes: \(r.text.prefix(300))")
            let seen = try RawHTTPClient.request(port: fixture.sim.port, "GET", "/sim/last?n=1").body
            try assertIsSplice(seen, of: body, reasoningOf: message)
            exact += 1
            let ledger = try XCTUnwrap(try fixture.simStats()["ledger"] as? [String: Int])
            XCTAssertEqual(ledger["exact"], exact, "\(body.count) bytes")
        }
    }

    func testALargeRestoredBodyIsSentAgainWholeWhenItsConnectionDiesUnanswered() throws {
        // The upstream reads the request on a pooled connection and hangs up without a byte:
        // curl itself resends it on a new connection, rewinding the gathered body (its seek
        // callback). thinkback's own retries are off, so only that can answer 200.
        // One worker: the pooled connection is that worker's.
        let f = try ProxyFixture(proxyArguments: ["--retries", "0", "--workers", "1"])
        defer { f.stop() }
        let message = try firstTurn(on: f)   // leaves a pooled connection behind
        let body = try secondTurn(after: message, size: 300_000)
        let r = try RawHTTPClient.request(port: f.proxy.port, "POST", "/v1/chat/completions",
                                          headers: ProxyFixture.auth + [("x-sim-hang-up", "1"), ("x-sim-fail-times", "1"),
                                                                        ("x-sim-fault-id", "rewind-\(UUID().uuidString)")],
                                          body: body)
        XCTAssertEqual(r.status, 200, r.text)
        let verdicts = try XCTUnwrap(try f.simStats()["verdicts"] as? [String: Int])
        XCTAssertEqual(verdicts["fault_hang_up"], 1, "the first attempt was hung up on")
        let seen = try RawHTTPClient.request(port: f.sim.port, "GET", "/sim/last?n=1").body
        try assertIsSplice(seen, of: body, reasoningOf: message)
        let ledger = try XCTUnwrap(try f.simStats()["ledger"] as? [String: Int])
        XCTAssertEqual(ledger["exact"], 1)
    }
}
