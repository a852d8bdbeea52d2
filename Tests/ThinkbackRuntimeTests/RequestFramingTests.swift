import CLibEvent
import XCTest

/// The request framing the server follows ahead of evhttp (cle_framing.c), byte by byte and
/// without sockets: where a head ends, what marks it bad, and strict chunked framing.
final class RequestFramingTests: XCTestCase {
    private struct Outcome: Equatable {
        var phase: Int
        var used: Int
        var chunked: Bool
        var badHead: Bool
    }

    /// Feeds `bytes` in pieces cut at `cuts`; `used` sums what each call took.
    private func feed(_ text: String, cuts: [Int] = []) -> Outcome {
        feed(Array(text.utf8), cuts: cuts)
    }

    private func feed(_ bytes: [UInt8], cuts: [Int] = []) -> Outcome {
        var f = cle_framing()
        cle_framing_start(&f)
        var used = 0
        var from = 0
        for end in cuts + [bytes.count] where end >= from {
            let piece = Array(bytes[from ..< end])
            let took = piece.withUnsafeBufferPointer { cle_framing_feed(&f, $0.baseAddress, $0.count) }
            used += took
            if took < piece.count { break }   // the request ended (or went wrong) inside the piece
            from = end
        }
        return Outcome(phase: Int(f.phase), used: used, chunked: f.chunked != 0, badHead: f.bad_head != 0)
    }

    /// The outcome is the same however the bytes are cut (one or two cuts everywhere).
    private func assertSameEverywhere(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> Outcome {
        let bytes = Array(text.utf8)
        let whole = feed(bytes)
        for i in 0 ... bytes.count {
            XCTAssertEqual(feed(bytes, cuts: [i]), whole, "cut at \(i)", file: file, line: line)
            for j in stride(from: i, through: bytes.count, by: 5) {
                XCTAssertEqual(feed(bytes, cuts: [i, j]), whole, "cuts at \(i), \(j)", file: file, line: line)
            }
        }
        return whole
    }

    private let chunkedHead = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"

    func testAHeadEndsAtItsEmptyLineWhateverTheCuts() {
        let head = "GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n"
        let o = assertSameEverywhere(head)
        XCTAssertEqual(o.phase, Int(CLE_FRAMING_BODY))
        XCTAssertFalse(o.chunked)
        XCTAssertFalse(o.badHead)
        XCTAssertEqual(feed(String(head.dropLast(2))).phase, Int(CLE_FRAMING_HEAD), "not ended yet")
    }

    func testEmptyLinesBeforeTheRequestLineDoNotEndTheHead() {
        XCTAssertEqual(feed("\r\n\r\nGET / HTTP/1.1\r\n").phase, Int(CLE_FRAMING_HEAD))
        XCTAssertEqual(feed("\r\nGET / HTTP/1.1\nHost: x\n\n").phase, Int(CLE_FRAMING_BODY), "bare LF lines, as evhttp reads them")
    }

    func testAPlainBodyIsTakenUnchecked() {
        let request = "POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nzz\0\r\n"
        let o = feed(request)
        XCTAssertEqual(o.phase, Int(CLE_FRAMING_BODY))
        XCTAssertFalse(o.badHead, "a NUL in the body is the body's business")
        XCTAssertEqual(o.used, request.utf8.count)
    }

    func testANulOrAFoldedLineMarksTheHeadBad() {
        XCTAssertTrue(assertSameEverywhere("GET / HTTP/1.1\r\nAuthorization: Bearer k\0x\r\n\r\n").badHead)
        XCTAssertTrue(feed("GET / HTTP/1.1\r\nX-A: a\r\n b\r\n\r\n").badHead)
        XCTAssertTrue(feed("GET / HTTP/1.1\r\nX-A: a\r\n\tb\r\n\r\n").badHead)
        XCTAssertFalse(feed("GET / HTTP/1.1\r\nX-A: a b\t c\r\n\r\n").badHead, "spaces inside a value are fine")
    }

    func testTransferEncodingIsFoundAtALineStartInAnyCase() {
        XCTAssertTrue(assertSameEverywhere("POST / HTTP/1.1\r\ntRANSFER-encoding: chunked\r\n\r\n").chunked)
        XCTAssertFalse(feed("POST / HTTP/1.1\r\nX-Transfer-Encoding: chunked\r\n\r\n").chunked)
        XCTAssertFalse(feed("POST / HTTP/1.1\r\nTransfer-Encodings: chunked\r\n\r\n").chunked)
        XCTAssertFalse(feed("POST /transfer-encoding: HTTP/1.1\r\n\r\n").chunked, "the request line is no header")
            // (it starts with the method, so it never matches)
    }

    func testAWellFramedChunkedBodyEndsExactlyAtItsLastCRLF() {
        let body = "5\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n"
        let next = "GET / HTTP/1.1\r\n\r\n"
        let o = assertSameEverywhere(chunkedHead + body + next)
        XCTAssertEqual(o.phase, Int(CLE_FRAMING_DONE))
        XCTAssertEqual(o.used, chunkedHead.utf8.count + body.utf8.count, "the pipelined request is not this one's")
    }

    func testBadChunkedFramingIsCaughtWhereverTheBytesAreCut() {
        let bad = [
            "zz\r\nabc\r\n0\r\n\r\n",             // not hex
            " 5\r\nhello\r\n0\r\n\r\n",           // a space before the size
            "+5\r\nhello\r\n0\r\n\r\n",           // a sign
            "0x5\r\nhello\r\n0\r\n\r\n",          // a prefix
            "5 \r\nhello\r\n0\r\n\r\n",           // a space after
            "5;a=b\r\nhello\r\n0\r\n\r\n",        // an extension
            "5\nhello\r\n0\r\n\r\n",              // a bare LF after the size
            "3\r\nhello\r\n0\r\n\r\n",            // data longer than its size
            "5\r\nhello0\r\n\r\n",                // no CRLF after the data
            "\r\n5\r\nhello\r\n0\r\n\r\n",        // no size at all
            "0000000000000005\r\nhello\r\n0\r\n\r\n",   // 16 digits
            "5\r\nhello\r\n0\r\nX: a\0\r\n\r\n",  // a NUL in a trailer
            "5\r\nhello\r\n0\r\n\n",              // a bare LF ending the trailers
        ]
        for body in bad {
            XCTAssertEqual(assertSameEverywhere(chunkedHead + body).phase, Int(CLE_FRAMING_BAD_BODY), body.debugDescription)
        }
    }

    func testAChunkedBodyNotYetCompleteWaits() {
        let o = feed(chunkedHead + "5\r\nhel")
        XCTAssertEqual(o.phase, Int(CLE_FRAMING_BODY))
        XCTAssertEqual(feed(chunkedHead + "5\r\nhello\r\n0\r\n").phase, Int(CLE_FRAMING_BODY))
    }

    func testTheLargestSizeIsFifteenDigits() {
        let o = feed(chunkedHead + "fffffffffffffff\r\nabc")
        XCTAssertEqual(o.phase, Int(CLE_FRAMING_BODY), "15 digits: a size, not an error")
    }
}
