import XCTest

@testable import ThinkbackSimCore

/// The simulator's own JSON reader and writer.
final class JSONTests: XCTestCase {
    func testKeepsMemberOrderAndNumberSpelling() throws {
        let v = try SimJSON.parse(#" {"b": 1.50, "a": [true, null, -0e1], "c": "x"} "#)
        XCTAssertEqual(v.text, #"{"b":1.50,"a":[true,null,-0e1],"c":"x"}"#)
        XCTAssertEqual(String(decoding: v.canonicalBytes, as: UTF8.self), #"{"a":[true,null,-0e1],"b":1.50,"c":"x"}"#)
    }

    func testDecodesEscapesAndWritesUTF8() throws {
        let v = try SimJSON.parse(#""\u5317 \ud83e\udd14 \"q\" \\ \/ \n\t\u0001""#)
        XCTAssertEqual(v.stringValue, "北 🤔 \"q\" \\ / \n\t\u{01}")
        XCTAssertEqual(v.text, #""北 🤔 \"q\" \\ / \n\t\u0001""#)
    }

    func testCanonicalArgumentsIgnoreSpellingDifferences() {
        XCTAssertEqual(
            SimJSON.canonicalArguments(#"{"b": "\u5317", "a": 1}"#), SimJSON.canonicalArguments(#"{"a":1,"b":"北"}"#))
        XCTAssertEqual(SimJSON.canonicalArguments("not json"), "not json")
    }

    func testRejectsMalformedDocumentsWithOffsets() {
        for (text, offset) in [("{", 1), ("[1,]", 3), (#"{"a" 1}"#, 5), ("tru", 0), ("01", 1), (#""\x""#, 2), ("{} x", 3)] {
            XCTAssertThrowsError(try SimJSON.parse(text), text) { error in
                XCTAssertEqual((error as? SimJSONError)?.offset, offset, text)
            }
        }
    }

    func testLoneSurrogateBecomesReplacementCharacter() throws {
        XCTAssertEqual(try SimJSON.parse(#""\ud800x""#).stringValue, "\u{FFFD}x")
        XCTAssertEqual(try SimJSON.parse(#""\ud83d""#).stringValue, "\u{FFFD}")
        XCTAssertEqual(try SimJSON.parse(#""\ude00\ud83d""#).stringValue, "\u{FFFD}\u{FFFD}", "a low before a high is no pair")
        XCTAssertEqual(try SimJSON.parse(#""\ud83d\u0041""#).stringValue, "\u{FFFD}A")
    }

    func testEscapedSurrogatePairDecodesToItsCharacter() throws {
        XCTAssertEqual(try SimJSON.parse(#""\ud83d\ude00 \uD83E\uDD14""#).stringValue.map { Array($0.utf8) }, Array("😀 🤔".utf8))
    }

    func testASCIIOnlyWritingEscapesLikePythonsEnsureASCII() throws {
        let value: SimJSON = ["北": .string("a😀\n\"é\u{7F}")]
        XCTAssertEqual(String(decoding: value.asciiBytes, as: UTF8.self), #"{"\u5317":"a\ud83d\ude00\n\"\u00e9\#u{7F}"}"#)
        XCTAssertEqual(try SimJSON.parse(value.asciiBytes), value)
    }

    func testCodeUnitsWriteLoneSurrogatesAsEscapes() {
        let units = Array("x😀".utf16)
        XCTAssertEqual(SimJSON.codeUnits(Array(units.prefix(2))).text, #""x\ud83d""#)
        XCTAssertEqual(SimJSON.codeUnits([units[2]]).text, #""\ude00""#)
    }

    func testRoundTripsThroughFoundation() throws {
        let text = ReasoningText.sentences.joined(separator: "\n")
        let written = SimJSON.string(text).bytes
        let decoded = try JSONSerialization.jsonObject(with: Data(written), options: [.fragmentsAllowed]) as! String
        XCTAssertEqual(Array(decoded.utf8), Array(text.utf8))
    }
}
