import XCTest

@testable import ThinkbackSimCore

/// Same seed and same requests give the same bytes; another seed gives other bytes.
final class DeterminismTests: XCTestCase {
    func transcript(seed: UInt64) -> [[UInt8]] {
        let client = Client(sim: makeSim(SimConfig(seed: seed)))
        var out: [[UInt8]] = []
        var messages: [[String: Any]] = [["role": "user", "content": "Weather?"]]
        let first = client.chat(toolRequest(messages))
        out.append(first.body)
        let message = assistantMessage(first)
        messages.append(message)
        for call in message["tool_calls"] as! [[String: Any]] {
            messages.append(["role": "tool", "tool_call_id": call["id"] as! String, "content": "ok"])
        }
        out.append(client.chat(toolRequest(messages, extra: ["stream": true])).body)
        out.append(client.messages(["model": "mimo-v2.5-pro", "max_tokens": 9, "messages": [["role": "user", "content": "x"]]]).body)
        return out
    }

    func testSameSeedGivesTheSameBytes() {
        XCTAssertEqual(transcript(seed: 42), transcript(seed: 42))
    }

    func testAnotherSeedGivesOtherBytes() {
        XCTAssertNotEqual(transcript(seed: 42)[0], transcript(seed: 43)[0])
    }

    func testStreamFlagDoesNotChangeTheAnswer() {
        let a = Client(sim: makeSim()).chat(toolRequest([["role": "user", "content": "x"]]))
        let b = Client(sim: makeSim()).chat(toolRequest([["role": "user", "content": "x"]], extra: ["stream": true]))
        let id = foundationJSON(a.body)["id"] as! String
        XCTAssertTrue(bodyText(b).contains(id))
    }

    func testSplitMix64MatchesTheReferenceSequence() {
        // Reference values of SplitMix64 seeded with 0 (Vigna's splitmix64.c).
        var g = SplitMix64(seed: 0)
        XCTAssertEqual(g.next(), 0xE220_A839_7B1D_CDAF)
        XCTAssertEqual(g.next(), 0x6E78_9E6A_A1B9_65F4)
    }
}
