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
        XCTAssertEqual(restore["hits_tool_call_id"] as? Int, 1)
        XCTAssertEqual(restore["captured"] as? Int, 1, "the tool-call answer; a plain answer is not kept under restore = tool-calls")
    }
}
