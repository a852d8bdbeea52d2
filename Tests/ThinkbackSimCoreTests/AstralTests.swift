import XCTest

@testable import ThinkbackSimCore

/// `x-sim-astral`: astral reasoning, ASCII-only JSON, and surrogate pairs split between two
/// stream events (each event's JSON still valid: a lone surrogate escape is valid JSON).
final class AstralTests: XCTestCase {
    let astral = [("x-sim-astral", "1")]
    let question: [[String: Any]] = [["role": "user", "content": "Weather?"]]

    func testNonStreamAnswerIsASCIIOnlyWithTheWholePairsEscaped() {
        let r = Client(sim: makeSim()).chat(toolRequest(question), headers: astral)
        XCTAssertEqual(r.status, 200)
        XCTAssertTrue(r.body.allSatisfy { $0 < 0x80 }, bodyText(r))
        let text = bodyText(r)
        for escape in [#"\ud83d\ude00"#, #"\ud83e\udd14"#, #"\u5317"#] { XCTAssertTrue(text.contains(escape), escape) }
        let reasoning = assistantMessage(r)["reasoning_content"] as! String
        XCTAssertTrue(reasoning.contains(ReasoningText.astralLine))
    }

    func testWithoutTheKnobJSONStaysUTF8() {
        let r = Client(sim: makeSim()).chat(toolRequest(question))
        XCTAssertFalse(r.body.allSatisfy { $0 < 0x80 })
        XCTAssertFalse((assistantMessage(r)["reasoning_content"] as! String).contains(ReasoningText.astralLine))
    }

    func testStreamSplitsAPairAndTheDecodedDeltasJoinToTheIssuedReasoning() throws {
        let streamed = Client(sim: makeSim(SimConfig(seed: 5))).chat(toolRequest(question, extra: ["stream": true]), headers: astral)
        let whole = Client(sim: makeSim(SimConfig(seed: 5))).chat(toolRequest(question), headers: astral)
        let issued = assistantMessage(whole)["reasoning_content"] as! String
        var pieces: [[UInt16]] = []
        for event in streamed.events {
            XCTAssertTrue(event.allSatisfy { $0 < 0x80 }, String(decoding: event, as: UTF8.self))
            let text = String(decoding: event, as: UTF8.self)
            if text.hasPrefix("data: {") { XCTAssertNoThrow(try SimJSON.parse(Array(event.dropFirst(6).dropLast(2)))) }
            if let units = stringUnits(member: "reasoning_content", in: event) { pieces.append(units) }
        }
        XCTAssertGreaterThan(pieces.count, 2)
        XCTAssertTrue(pieces.dropLast().allSatisfy { $0.count == 12 }, "the default fragment: 12 UTF-16 code units")
        XCTAssertTrue(splitsAPair(pieces))
        let joined = try XCTUnwrap(String(validating: pieces.joined(), as: UTF16.self))
        XCTAssertEqual(Array(joined.utf8), Array(issued.utf8))
    }

    func testAnthropicStreamSplitsAPairInItsThinkingDeltas() throws {
        let r = Client(sim: makeSim()).messages(
            ["model": "mimo-v2.5-pro", "max_tokens": 100, "stream": true, "tools": anthropicTools, "messages": question],
            headers: astral)
        XCTAssertTrue(r.body.allSatisfy { $0 < 0x80 })
        let pieces = r.events.compactMap { event -> [UInt16]? in
            String(decoding: event, as: UTF8.self).contains("thinking_delta") ? stringUnits(member: "thinking", in: event) : nil
        }
        XCTAssertTrue(splitsAPair(pieces))
        let joined = try XCTUnwrap(String(validating: pieces.joined(), as: UTF16.self))
        XCTAssertTrue(joined.contains(ReasoningText.astralLine))
    }

    func testEveryFragmentSizeUpToTwelveAndEvenSizesUpTo22SplitAPair() {
        for offset in 0..<30 {
            let text = String(repeating: "a", count: offset) + ReasoningText.astralLine + "\nmore"
            for size in Array(1...12) + Array(stride(from: 14, through: 22, by: 2)) {
                let pieces = ScriptedModel.reasoningPieces(text, size: size, astral: true).map { piece -> [UInt16] in
                    guard case .codeUnits(let units) = piece else { return [] }
                    return units
                }
                XCTAssertEqual(pieces.joined().map { $0 }, Array(text.utf16))
                XCTAssertTrue(splitsAPair(pieces), "offset \(offset), fragment \(size)")
            }
        }
    }

    func testLedgerDecodesTheEscapedPairAClientSendsBack() {
        let client = Client(sim: makeSim())
        let streamed = client.chat(toolRequest(question, extra: ["stream": true]), headers: astral)
        let pieces = streamed.events.compactMap { stringUnits(member: "reasoning_content", in: $0) }
        let calls = streamed.events.compactMap { event -> [String: Any]? in
            let text = String(decoding: event, as: UTF8.self)
            guard text.hasPrefix("data: {"), let data = text.dropFirst(6).data(using: .utf8),
                let chunk = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                let delta = ((chunk["choices"] as? [[String: Any]])?.first)?["delta"] as? [String: Any],
                let call = (delta["tool_calls"] as? [[String: Any]])?.first, call["id"] != nil
            else { return nil }
            return call
        }
        XCTAssertFalse(calls.isEmpty)
        let assistantCalls = calls.map { c -> [String: Any] in
            let name = (c["function"] as! [String: Any])["name"] as! String
            let args = streamArguments(streamed, index: c["index"] as! Int)
            return ["id": c["id"]!, "type": "function", "function": ["name": name, "arguments": args]]
        }
        func send(_ reasoning: String) -> LedgerCategory? {
            // The history as Python's json.dumps writes it: every non-ASCII character escaped.
            let history: SimJSON = [
                "model": "mimo-v2.5-pro",
                "tools": try! SimJSON.parse(encode(weatherTools)),
                "messages": .array([
                    ["role": "user", "content": "Weather?"],
                    [
                        "role": "assistant", "content": "", "reasoning_content": .string(reasoning),
                        "tool_calls": try! SimJSON.parse(encode(assistantCalls)),
                    ],
                ] + assistantCalls.map { ["role": "tool", "tool_call_id": .string($0["id"] as! String), "content": "ok"] }),
            ]
            XCTAssertEqual(client.post("/v1/chat/completions", raw: history.asciiBytes).status, 200)
            return client.sim.lastVerdicts(tenant: client.key!).first?.category
        }
        let whole = String(validating: pieces.joined(), as: UTF16.self)!
        XCTAssertEqual(send(whole), .exact)
        // A client that decoded each event's half of a pair on its own got U+FFFD for each.
        let garbled = pieces.map { String(decoding: $0, as: UTF16.self) }.joined()
        XCTAssertTrue(garbled.contains("\u{FFFD}"))
        XCTAssertEqual(send(garbled), .wrong)
    }

    /// The arguments of stream tool call `index`, assembled.
    func streamArguments(_ response: SimResponse, index: Int) -> String {
        var args = ""
        for event in response.events {
            let text = String(decoding: event, as: UTF8.self)
            guard text.hasPrefix("data: {"), let data = text.dropFirst(6).data(using: .utf8),
                let chunk = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                let delta = ((chunk["choices"] as? [[String: Any]])?.first)?["delta"] as? [String: Any],
                let calls = delta["tool_calls"] as? [[String: Any]]
            else { continue }
            for call in calls where call["index"] as? Int == index {
                args += (call["function"] as? [String: Any])?["arguments"] as? String ?? ""
            }
        }
        return args
    }
}

/// Whether one piece ends with a high surrogate and the next begins with its low one.
func splitsAPair(_ pieces: [[UInt16]]) -> Bool {
    zip(pieces, pieces.dropFirst()).contains { a, b in
        a.last.map(UTF16.isLeadSurrogate) == true && b.first.map(UTF16.isTrailSurrogate) == true
    }
}

/// The UTF-16 code units of the string after `"name":` in an ASCII-only event, nil when the
/// member is absent or not a string. An independent decoder: Foundation refuses the lone
/// surrogate escapes that astral streams carry on purpose.
func stringUnits(member name: String, in event: [UInt8]) -> [UInt16]? {
    let needle = Array("\"\(name)\":\"".utf8)
    guard let start = event.indices.first(where: { event[$0...].starts(with: needle) }) else { return nil }
    var i = start + needle.count
    var units: [UInt16] = []
    while i < event.count {
        let b = event[i]
        if b == UInt8(ascii: "\"") { return units }
        guard b == UInt8(ascii: "\\") else {
            units.append(UInt16(b))
            i += 1
            continue
        }
        let e = event[i + 1]
        switch e {
        case UInt8(ascii: "u"):
            units.append(UInt16(String(decoding: event[(i + 2)..<(i + 6)], as: UTF8.self), radix: 16)!)
            i += 6
            continue
        case UInt8(ascii: "n"): units.append(0x0A)
        case UInt8(ascii: "r"): units.append(0x0D)
        case UInt8(ascii: "t"): units.append(0x09)
        case UInt8(ascii: "b"): units.append(0x08)
        case UInt8(ascii: "f"): units.append(0x0C)
        default: units.append(UInt16(e))  // \" \\ \/
        }
        i += 2
    }
    return nil
}
