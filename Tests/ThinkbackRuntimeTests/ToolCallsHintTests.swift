import XCTest
@testable import ThinkbackRuntime

/// The byte search that lets plain answers skip capture under `restore = tool-calls`.
final class ToolCallsHintTests: XCTestCase {
    func hint(_ s: String) -> Bool {
        Array(s.utf8).withUnsafeBytes { ProxyExchange.mayHaveToolCalls($0) }
    }

    func testFindsEverySpellingOfAToolCallsArray() {
        XCTAssertTrue(hint(#"{"message":{"tool_calls":[{"id":"c"}]}}"#))
        XCTAssertTrue(hint("{\"message\":{\"content\":\"\",\"tool_calls\" :\n\t [ ]}}"))
        XCTAssertTrue(hint(#"{"a":"tool_calls","tool_calls":[]}"#), "a later real member after a look-alike")
    }

    func testPlainAnswersAreRecognised() {
        XCTAssertFalse(hint(#"{"message":{"content":"hi","tool_calls":null,"reasoning_content":"r"}}"#))
        XCTAssertFalse(hint(#"{"message":{"content":"say \"tool_calls\":[1]"}}"#), "escaped quotes inside a string")
        XCTAssertFalse(hint(""))
        XCTAssertFalse(hint(#"{"tool_calls""#))
    }
}
