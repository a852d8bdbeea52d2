import XCTest
@testable import ThinkbackCore

/// §9: leaked tool calls found in the reasoning, in both templates; nothing else taken.
final class ToolCallRescueTests: XCTestCase {
    private func calls(_ text: String, offered: Set<String> = ["get_weather", "read_file"]) -> [ToolCallRescue.Call] {
        ToolCallRescue.calls(in: Array(text.utf8), offered: offered)
    }

    private func arguments(_ call: ToolCallRescue.Call) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(call.arguments))) as? [String: Any] ?? [:]
    }

    func testTheQwenXMLTemplateWithValuesOnTheirOwnLines() {
        let found = calls("""
        I should look at the weather first.
        <tool_call>
        <function=get_weather>
        <parameter=city>
        Beijing
        </parameter>
        <parameter=days>
        3
        </parameter>
        <parameter=units>
        {"temp": "C"}
        </parameter>
        </function>
        </tool_call>
        """)
        XCTAssertEqual(found.map(\.name), ["get_weather"])
        let args = arguments(found[0])
        XCTAssertEqual(args["city"] as? String, "Beijing", "a value that is not JSON becomes a string, its newlines trimmed")
        XCTAssertEqual(args["days"] as? Int, 3, "a value that parses as JSON stays JSON")
        XCTAssertEqual((args["units"] as? [String: Any])?["temp"] as? String, "C")
    }

    func testWhitespaceBetweenTagsIsFreeAndEverySpellingKeepsItsBytes() {
        let found = calls("<tool_call>  <function=read_file><parameter=path>notes/trip.md</parameter>\t</function>\n</tool_call>")
        XCTAssertEqual(found.count, 1)
        XCTAssertEqual(String(decoding: found[0].arguments, as: UTF8.self), #"{"path":"notes/trip.md"}"#)
        // Spaces inside a value are the value's: only newlines around it go.
        let spaced = calls("<tool_call><function=read_file><parameter=path>\n  a b  \n</parameter></function></tool_call>")
        XCTAssertEqual(arguments(spaced[0])["path"] as? String, "  a b  ")
    }

    func testTheJSONTemplateAndSeveralCalls() {
        let found = calls("""
        <tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_call>
        then <tool_call>
        {"name": "read_file", "arguments": "{\\"path\\": \\"a.md\\"}"}
        </tool_call>
        """)
        XCTAssertEqual(found.map(\.name), ["get_weather", "read_file"])
        XCTAssertEqual(arguments(found[0])["city"] as? String, "Paris")
        XCTAssertEqual(arguments(found[1])["path"] as? String, "a.md", "arguments as a string holding the object")
    }

    func testOnlyOfferedNamesAndOnlyWholeCalls() {
        XCTAssertEqual(calls("<tool_call><function=delete_everything></function></tool_call>").count, 0, "not offered")
        XCTAssertEqual(calls("<tool_call><function=get_weather></function></tool_call>", offered: []).count, 0, "no tools offered")
        for broken in [
            "<tool_call><function=get_weather><parameter=city>Paris</function></tool_call>",   // no </parameter>
            "<tool_call><function=get_weather><parameter=city>Paris</parameter></tool_call>", // no </function>
            "<tool_call><function=get_weather>",                                                // cut off
            "<tool_call><function=get_weather>junk</function></tool_call>",
            "<tool_call>{\"name\": \"get_weather\", \"arguments\": {</tool_call>",
            "<tool_call>{\"arguments\": {}}</tool_call>",
            "<function=get_weather></function>",                                                // no <tool_call>
        ] {
            XCTAssertEqual(calls(broken).count, 0, broken)
        }
        // A broken one beside a whole one: the whole one only.
        let mixed = calls("<tool_call><function=get_weather>x</function></tool_call><tool_call><function=read_file></function></tool_call>")
        XCTAssertEqual(mixed.map(\.name), ["read_file"])
        XCTAssertEqual(String(decoding: mixed[0].arguments, as: UTF8.self), "{}")
    }

    func testTheEditsMakeARealCallOfAWholeAnswer() throws {
        let body = Array(#"{"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":"","reasoning_content":"r"},"finish_reason":"stop"}]}"#.utf8)
        let response = try ChatResponseScan(body)
        let call = ToolCallRescue.Call(name: "get_weather", arguments: Array(#"{"city":"Paris"}"#.utf8))
        let edits = ToolCallRescue.edits(response: response, choice: 0, calls: [call], ids: ["call_abc"])
        let out = try body.withUnsafeBytes { try JSONSplicer.apply(edits, to: $0) }
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(out)) as? [String: Any])
        let choice = try XCTUnwrap((json["choices"] as? [[String: Any]])?.first)
        XCTAssertEqual(choice["finish_reason"] as? String, "tool_calls")
        let message = try XCTUnwrap(choice["message"] as? [String: Any])
        XCTAssertEqual(message["reasoning_content"] as? String, "r", "the reasoning is left as sent")
        let calls = try XCTUnwrap(message["tool_calls"] as? [[String: Any]])
        XCTAssertEqual(calls.first?["id"] as? String, "call_abc")
        let function = try XCTUnwrap(calls.first?["function"] as? [String: Any])
        XCTAssertEqual(function["name"] as? String, "get_weather")
        XCTAssertEqual(function["arguments"] as? String, #"{"city":"Paris"}"#)
        let rescanned = try ChatResponseScan(out)
        XCTAssertEqual(rescanned.choices[0].toolCalls.map(\.id), ["call_abc"], "captured like any other call")
    }

    func testHostileReasoningIsLinearAndFindsNothing() {
        // A megabyte of openings without an end, and of '<' everywhere: nothing, quickly.
        let opens = String(repeating: "<tool_call><function=get_weather><parameter=city>", count: 20_000)
        XCTAssertEqual(calls(opens).count, 0)
        XCTAssertEqual(calls(String(repeating: "<", count: 1_000_000)).count, 0)
        // Many whole calls: each found.
        let many = String(repeating: "<tool_call><function=read_file></function></tool_call>", count: 5_000)
        XCTAssertEqual(calls(many).count, 5_000)
    }
}
