import XCTest
@testable import ThinkbackCore

/// A stream's reasoning is captured as the provider generated it, however the characters are
/// cut: an escaped surrogate pair split across two events, a UTF-8 sequence split across two
/// network reads (issue: "Streams captured whole").
final class StreamCaptureUnicodeTests: XCTestCase {
    /// The reasoning the provider generated: astral characters (surrogate pairs when escaped),
    /// BMP non-ASCII, escapes of every kind.
    let reasoning = "Plan 😀 then 🤔, 北京 \"q\" \\ end 𝄞"

    /// `reasoning` spelt as ASCII-only JSON string contents (every non-ASCII scalar escaped as
    /// `\uXXXX`, astral ones as a surrogate pair), as Python's `ensure_ascii` writes it.
    var escaped: [String] {
        var units: [String] = []
        for scalar in reasoning.unicodeScalars {
            switch scalar {
            case "\"": units.append(#"\""#)
            case "\\": units.append(#"\\"#)
            case _ where scalar.isASCII: units.append(String(scalar))
            default:
                for unit in String(scalar).utf16 { units.append(String(format: "\\u%04x", unit)) }
            }
        }
        return units   // one UTF-16 code unit (or ASCII character) per element: cut anywhere
    }

    func events(splitAt cut: Int) -> [String] {
        let units = escaped
        let first = units[..<cut].joined()
        let second = units[cut...].joined()
        return [
            MiMoStream.chunk(#"{"content":"","role":"assistant"}"#),
            MiMoStream.chunk(#"{"reasoning_content":"\#(first)"}"#),
            MiMoStream.chunk(#"{"reasoning_content":"\#(second)"}"#),
            MiMoStream.chunk(#"{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":"{}"}}]}"#),
            MiMoStream.chunk("{}", finish: #""tool_calls""#),
            "[DONE]",
        ]
    }

    func testASurrogatePairSplitAcrossEventsIsCapturedWholeAtEverySplitPoint() throws {
        let units = escaped
        var pairsSplit = 0
        for cut in 0 ... units.count {
            if cut > 0, cut < units.count, units[cut - 1].hasPrefix("\\ud8") || units[cut - 1].hasPrefix("\\ud83") { pairsSplit += 1 }
            var capture = StreamCapture()
            for e in events(splitAt: cut) { capture.feed(utf8(e)) }
            let choice = try XCTUnwrap(capture.result()?.first, "cut \(cut)")
            XCTAssertEqual(choice.reasoning.map { String(decoding: $0, as: UTF8.self) }, reasoning, "cut \(cut)")
            // What is stored is one JSON string whose value is the text, no U+FFFD, no lone surrogate.
            let stored = choice.storedReasoning(storedAtMilliseconds: 0)
            XCTAssertTrue(stored.isWellFormed, "cut \(cut)")
            XCTAssertEqual(stored.reasoningContentText.map { String(decoding: $0, as: UTF8.self) }, reasoning, "cut \(cut)")
            XCTAssertFalse(stored.reasoningContentText!.contains(0xEF) && String(decoding: stored.reasoningContentText!, as: UTF8.self).contains("\u{FFFD}"))
        }
        XCTAssertGreaterThanOrEqual(pairsSplit, 3, "the cuts include ones between a high and a low surrogate")
    }

    func testAUTF8SequenceSplitAcrossReadsIsCapturedWholeAtEverySplitPoint() throws {
        // Raw UTF-8 this time (no escapes): a read may end inside a character.
        let stream = MiMoStream.sse([
            MiMoStream.chunk(#"{"reasoning_content":"\#(reasoning.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\""))"}"#),
            MiMoStream.chunk(#"{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":"{\"city\":\"北京\"}"}}]}"#),
            MiMoStream.chunk("{}", finish: #""tool_calls""#),
            "[DONE]",
        ])
        for split in 1 ..< stream.count {
            for second in [split + 1, split + 2, stream.count] where second <= stream.count && second > split {
                var parser = SSEParser()
                var capture = StreamCapture()
                for piece in [stream[..<split], stream[split ..< second], stream[second...]] {
                    parser.feed(Array(piece)) { capture.feed($0.data) }
                }
                let choice = try XCTUnwrap(capture.result()?.first, "split \(split)/\(second)")
                XCTAssertEqual(choice.reasoning.map { String(decoding: $0, as: UTF8.self) }, reasoning, "split \(split)/\(second)")
                XCTAssertEqual(choice.toolCalls.first?.arguments, utf8(#"{"city":"北京"}"#))
            }
        }
    }

    func testTheStoredLiteralIsTheProvidersSpelling() throws {
        // Non-stream: kept byte for byte, a lone surrogate escape included (valid JSON).
        let body = utf8(#"{"choices":[{"index":0,"message":{"role":"assistant","content":null,"reasoning_content":"a\u00e9\/ \ud800 \ud83d\ude00","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]},"finish_reason":"tool_calls"}]}"#)
        let choice = try XCTUnwrap(try ChatResponseScan(body).choices.first)
        XCTAssertEqual(choice.storedReasoning(storedAtMilliseconds: 0).text, utf8(#""a\u00e9\/ \ud800 \ud83d\ude00""#))
        // Stream: the fragments' spellings joined.
        var capture = StreamCapture()
        for e in [MiMoStream.chunk(#"{"reasoning_content":"a\u00e9\/ \ud83d"}"#), MiMoStream.chunk(#"{"reasoning_content":"\ude00"}"#),
                  MiMoStream.chunk("{}", finish: #""stop""#), "[DONE]"] { capture.feed(utf8(e)) }
        let streamed = try XCTUnwrap(capture.result()?.first)
        XCTAssertEqual(streamed.storedReasoning(storedAtMilliseconds: 0).text, utf8(#""a\u00e9\/ \ud83d\ude00""#))
        XCTAssertEqual(streamed.reasoning, utf8("aé/ 😀"))
    }
}
