import XCTest
import ThinkbackTestSupport
@testable import ThinkbackCore

final class SSEParserTests: XCTestCase {
    static let stream = utf8(
        "\u{FEFF}: comment line\r\n"
            + "retry: 3000\n"
            + "data: first\n\n"
            + "event: ping\r"
            + "id: 7\r"
            + "data:no space\r"
            + "data:  two spaces\r"
            + "data\r"
            + "\r"
            + ": only a comment\n\n"
            + "event: orphan\n\n"
            + "data: {\"a\": \"北京😀\"}\r\n"
            + "unknown: field\r\n"
            + "id: bad\u{0}id\r\n"
            + "retry: 12x\r\n"
            + "\r\n"
            + "data\n\n"
            + "data: [DONE]\n\n"
            + "data: trailing without blank line\n")

    static let expected = [
        SSEEvent(event: nil, data: utf8("first"), lastEventId: nil),
        SSEEvent(event: "ping", data: utf8("no space\n two spaces\n"), lastEventId: "7"),
        SSEEvent(event: nil, data: utf8("{\"a\": \"北京😀\"}"), lastEventId: "7"),
        SSEEvent(event: nil, data: [], lastEventId: "7"),
        SSEEvent(event: nil, data: utf8("[DONE]"), lastEventId: "7"),
    ]

    func testParsesFieldsCommentsLineEndingsAndMultiLineData() {
        var parser = SSEParser()
        let events = parser.feed(Self.stream)
        XCTAssertEqual(events, Self.expected)
        XCTAssertEqual(parser.retry, 3000)
        XCTAssertEqual(events.map(\.isDone), [false, false, false, false, true])
        XCTAssertGreaterThan(parser.bufferedByteCount, 0)
        var last: [SSEEvent] = []
        parser.finish { last.append(SSEEvent($0)) }
        XCTAssertEqual(last.map { text($0.data) }, ["trailing without blank line"])
    }

    func testSameEventsWhenSplitAtEveryBytePosition() {
        var whole = SSEParser()
        let reference = whole.feed(Self.stream)
        for split in 0 ... Self.stream.count {
            var parser = SSEParser()
            let events = parser.feed(Array(Self.stream[..<split])) + parser.feed(Array(Self.stream[split...]))
            XCTAssertEqual(events, reference, "split at \(split)")
        }
    }

    func testSameEventsWhenFedOneByteAtATimeOrInRandomPieces() {
        var parser = SSEParser()
        var events: [SSEEvent] = []
        for b in Self.stream { events += parser.feed([b]) }
        XCTAssertEqual(events, Self.expected)

        var rng = SeededGenerator(seed: 5)
        for _ in 0 ..< 200 {
            var parser = SSEParser()
            var events: [SSEEvent] = []
            var i = 0
            while i < Self.stream.count {
                let n = Int.random(in: 0 ... 9, using: &rng)
                let j = min(i + n, Self.stream.count)
                events += parser.feed(Array(Self.stream[i ..< j]))
                i = j
            }
            XCTAssertEqual(events, Self.expected)
        }
    }

    func testLongLinesWithEveryLineEndInRandomPiecesGiveTheEventsWritten() {
        // Lines of 0–300 bytes (the parser looks for line ends sixteen bytes at a time), each
        // ended by LF, CR or CRLF at random, fed in random pieces: the events come out as
        // generated.
        var rng = SeededGenerator(seed: 0x55E)
        for round in 0 ..< 100 {
            var stream: [UInt8] = []
            var expected: [SSEEvent] = []
            for _ in 0 ..< Int.random(in: 1 ... 6, using: &rng) {
                var lines: [[UInt8]] = []
                for _ in 0 ..< Int.random(in: 1 ... 3, using: &rng) {
                    // Whole UTF-8 sequences only: pick characters, not bytes.
                    var line: [UInt8] = []
                    let chars = Array("abcdefghij {}\":,北😀")
                    for _ in 0 ..< Int.random(in: 0 ... 120, using: &rng) { line += Array(String(chars.randomElement(using: &rng)!).utf8) }
                    lines.append(line)
                }
                var end: [UInt8] = []
                for line in lines {
                    stream += utf8("data: ") + line
                    end = [[0x0A], [0x0D], [0x0D, 0x0A]].randomElement(using: &rng)!
                    stream += end
                }
                // The blank line; after a lone CR an LF would only complete a CRLF.
                stream += end == [0x0D] ? [[0x0D], [0x0D, 0x0A]].randomElement(using: &rng)!
                                        : [[0x0A], [0x0D], [0x0D, 0x0A]].randomElement(using: &rng)!
                expected.append(SSEEvent(event: nil, data: Array(lines.joined(separator: [0x0A])), lastEventId: nil))
            }
            var parser = SSEParser()
            var events: [SSEEvent] = []
            var i = 0
            while i < stream.count {
                let j = min(stream.count, i + Int.random(in: 1 ... 80, using: &rng))
                events += parser.feed(Array(stream[i ..< j]))
                i = j
            }
            XCTAssertEqual(events, expected, "round \(round)")
        }
    }

    func testCRLFSplitBetweenChunksIsOneLineEnd() {
        var parser = SSEParser()
        var events = parser.feed(utf8("data: a\r"))
        events += parser.feed(utf8("\ndata: b\r"))
        events += parser.feed(utf8("\n\r"))
        events += parser.feed(utf8("\n"))
        XCTAssertEqual(events, [SSEEvent(data: utf8("a\nb"))])
    }

    /// A lone data line is read in place from the chunk: an event that ends in a later chunk
    /// must not depend on the earlier chunk's bytes (the caller reuses its buffer, as curl does).
    func testEventSpanningChunksSurvivesTheCallerReusingItsBuffer() {
        let pieces = ["data: one\n", "\n", "data: two\ndata: more", "\n\ndata: three\n\n", "data: four", "\n", "\n"]
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 1)
        defer { buffer.deallocate() }
        var parser = SSEParser()
        var events: [SSEEvent] = []
        for piece in pieces {
            buffer.initializeMemory(as: UInt8.self, repeating: 0x58)   // scribble over the last chunk
            let bytes = utf8(piece)
            buffer.copyBytes(from: bytes)
            parser.feed(UnsafeRawBufferPointer(rebasing: buffer[0 ..< bytes.count])) { events.append(SSEEvent($0)) }
        }
        XCTAssertEqual(events.map { String(decoding: $0.data, as: UTF8.self) }, ["one", "two\nmore", "three", "four"])
        XCTAssertEqual(parser.bufferedByteCount, 0)
    }

    func testBorrowedViewNeedsNoCopy() {
        var parser = SSEParser()
        var sizes: [Int] = []
        var done = 0
        parser.feed(MiMoStream.sse(MiMoStream.textAnswer)) { event in
            sizes.append(event.data.count)
            if event.isDone { done += 1 }
        }
        XCTAssertEqual(sizes.count, MiMoStream.textAnswer.count)
        XCTAssertEqual(done, 1)
    }

    func testDoneMarkerDetection() {
        XCTAssertTrue(SSEEvent(data: utf8("[DONE]")).isDone)
        XCTAssertTrue(SSEEvent(data: utf8(" [DONE] ")).isDone)
        XCTAssertFalse(SSEEvent(data: utf8("[DONE")).isDone)
        XCTAssertFalse(SSEEvent(data: utf8("\"[DONE]\"")).isDone)
    }
}
