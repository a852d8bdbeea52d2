import XCTest
@testable import ThinkbackCore

/// The request-head rules that keep one reader from seeing a different request than another.
final class RequestHeadCheckTests: XCTestCase {
    private func problem(_ headers: [(String, [UInt8])]) -> String? {
        var check = RequestHeadCheck()
        for (name, value) in headers {
            Array(name.utf8).withUnsafeBytes { n in value.withUnsafeBytes { v in check.add(name: n, value: v) } }
        }
        return check.problem
    }

    private func v(_ s: String) -> [UInt8] { Array(s.utf8) }

    func testOrdinaryHeadsPass() {
        XCTAssertNil(problem([("Host", v("x")), ("Authorization", v("Bearer sk-1")), ("Content-Length", v("12")),
                              ("X-Obs", [0x41, 0x09, 0xE5, 0x8C, 0x97])]))
        XCTAssertNil(problem([("Content-Length", v("12")), ("content-length", v(" 12 "))]), "the same length twice is one")
        XCTAssertNil(problem([("Content-Length", v("12, 12"))]))
        XCTAssertNil(problem([("Transfer-Encoding", v("Chunked"))]))
    }

    func testConflictingOrMalformedLengthsAreRefused() {
        XCTAssertNotNil(problem([("Content-Length", v("12")), ("Content-Length", v("13"))]))
        XCTAssertNotNil(problem([("Content-Length", v("12, 13"))]))
        XCTAssertNotNil(problem([("Content-Length", v("-1"))]))
        XCTAssertNotNil(problem([("Content-Length", v("1 2"))]))
        XCTAssertNotNil(problem([("Content-Length", v(""))]))
    }

    func testTransferEncodingIsOneChunkedAndNeverWithALength() {
        XCTAssertNotNil(problem([("Content-Length", v("5")), ("Transfer-Encoding", v("chunked"))]))
        XCTAssertNotNil(problem([("Transfer-Encoding", v("chunked")), ("Content-Length", v("5"))]))
        XCTAssertNotNil(problem([("Transfer-Encoding", v("xchunked"))]))
        XCTAssertNotNil(problem([("Transfer-Encoding", v("gzip, chunked"))]))
        XCTAssertNotNil(problem([("Transfer-Encoding", v("chunked")), ("Transfer-Encoding", v("chunked"))]))
    }

    func testControlCharactersAndNonTokenNamesAreRefused() {
        for bad: UInt8 in [0x00, 0x01, 0x0A, 0x0D, 0x1F, 0x7F] {
            XCTAssertNotNil(problem([("X-A", [0x61, bad, 0x62])]), "value byte \(bad)")
        }
        for name in ["X A", "X\u{1}A", "X:A", "", "X(A)", "Ä"] {
            XCTAssertNotNil(problem([(name, v("a"))]), "name \(name.debugDescription)")
        }
    }
}
