import Foundation
import XCTest
import ThinkbackTestSupport
@testable import ThinkbackCore

final class JSONStringEncoderTests: XCTestCase {
    func testEscapesOnlyQuoteBackslashAndControlCharacters() {
        XCTAssertEqual(text(JSONStringEncoder.encode("a\"b\\c/d")), #""a\"b\\c/d""#)
        XCTAssertEqual(text(JSONStringEncoder.encode("\n\r\t\u{8}\u{C}\u{0}\u{1F}\u{7F}")), #""\n\r\t\b\f\u0000\u001f"# + "\u{7F}\"")
        XCTAssertEqual(JSONStringEncoder.encode("北京😀\u{2028}"), utf8("\"北京😀\u{2028}\""))
        XCTAssertEqual(JSONStringEncoder.encode(""), utf8("\"\""))
        XCTAssertEqual(JSONStringEncoder.encode([UInt8]()), utf8("\"\""))
    }

    func testEncodedTextDecodesToTheSameStringInFoundationAndInTheScanner() throws {
        for s in [nastyString, "", " ", "\\", "\"", String(repeating: "北😀\n", count: 100)] {
            let encoded = JSONStringEncoder.encode(s)
            XCTAssertEqual(try foundationObject(encoded) as? String, s)
            try encoded.withUnsafeBytes { raw in
                var r = JSONReader(raw)
                XCTAssertEqual(try r.readString().decodedBytes(in: raw), utf8(s))
                try r.finish()
            }
            XCTAssertEqual(utf8(s).withUnsafeBytes { JSONStringEncoder.encodedCount($0) }, encoded.count)
        }
    }

    func testEveryByteBelow0x80RoundTrips() throws {
        let all = (0 ..< 0x80).map { UInt8($0) }
        let encoded = JSONStringEncoder.encode(all)
        XCTAssertNil(scanError(encoded))
        try encoded.withUnsafeBytes { raw in
            var r = JSONReader(raw)
            XCTAssertEqual(try r.readString().decodedBytes(in: raw), all)
        }
    }

    /// The eight-bytes-at-a-time path must see every byte that needs escaping wherever it
    /// falls in a word: random texts mixing plain runs with specials at every offset.
    func testRandomTextsRoundTripThroughFoundationAtEveryAlignment() throws {
        var rng = SeededGenerator(seed: 7)
        let pieces = ["a", "plain ascii words ", "\"", "\\", "\n", "\u{1}", "\u{1F}", "\u{7F}", " ", "~", "北", "😀", "é", "\t"]
        for _ in 0 ..< 2000 {
            var s = ""
            for _ in 0 ..< Int.random(in: 0 ... 40, using: &rng) { s += pieces.randomElement(using: &rng)! }
            let encoded = JSONStringEncoder.encode(s)
            XCTAssertEqual(encoded.count, utf8(s).withUnsafeBytes { JSONStringEncoder.encodedCount($0) })
            let decoded = try XCTUnwrap(try foundationObject(encoded) as? String)
            XCTAssertEqual(Array(decoded.utf8), Array(s.utf8))
            XCTAssertFalse(encoded.dropFirst().dropLast().contains { $0 < 0x20 }, "no raw control byte")
        }
    }

    func testIllFormedUTF8BecomesReplacementCharacters() {
        XCTAssertEqual(JSONStringEncoder.encode([0x61, 0xFF, 0x62, 0xE5, 0x8C]),
                       utf8("\"a\u{FFFD}b\u{FFFD}\u{FFFD}\""))
        XCTAssertNil(scanError(JSONStringEncoder.encode([0xC0, 0x80, 0xED, 0xA0, 0x80])))
    }

    func testAppendAddsToExistingBytes() {
        var out = utf8("x:")
        utf8("a\nb").withUnsafeBytes { JSONStringEncoder.append($0, to: &out) }
        XCTAssertEqual(text(out), #"x:"a\nb""#)
    }
}

final class JSONSplicerTests: XCTestCase {
    func testAppliesReplacementsInsertionsAndDeletionsInOnePass() throws {
        let original = utf8("0123456789")
        let out = try JSONSplicer.apply([
            .replace(7 ..< 9, with: utf8("XY")),
            .insert(utf8("<"), at: 0),
            .delete(2 ..< 4),
            .insert(utf8(">"), at: 10),
            .insert(utf8("a"), at: 5),
            .insert(utf8("b"), at: 5),
        ], to: original)
        XCTAssertEqual(text(out), "<014ab56XY9>")
    }

    func testNoEditsCopiesTheDocument() throws {
        XCTAssertEqual(try JSONSplicer.apply([], to: utf8("abc")), utf8("abc"))
        XCTAssertEqual(try JSONSplicer.apply([], to: []), [])
        XCTAssertEqual(try JSONSplicer.apply([.insert(utf8("x"), at: 0)], to: []), utf8("x"))
    }

    func testPiecesGatherToTheSameDocumentAsTheCopy() throws {
        // The pieces a gathered upload reads (curl's read callback) must spell exactly what
        // apply writes, on random edit sets (insertions, deletions, replacements, edits at
        // the same offset, at both ends), and leave no empty piece.
        var rng = SeededGenerator(seed: 0x5EED_0F_01)
        for round in 0 ..< 500 {
            let n = Int.random(in: 0 ... 40, using: &rng)
            let original = (0 ..< n).map { _ in UInt8.random(in: 0x61 ... 0x7A, using: &rng) }
            var edits: [JSONEdit] = []
            var at = 0
            while at <= n, edits.count < 8, Bool.random(using: &rng) || edits.isEmpty {
                let start = Int.random(in: at ... n, using: &rng)
                let end = Int.random(in: start ... min(n, start + 5), using: &rng)
                let bytes = (0 ..< Int.random(in: 0 ... 4, using: &rng)).map { UInt8(ascii: "0") + UInt8($0) }
                edits.append(JSONEdit(replacing: start ..< end, with: bytes))
                at = end
            }
            edits.shuffle(using: &rng)
            let copied: [UInt8]
            do { copied = try JSONSplicer.apply(edits, to: original) } catch {
                // Shuffling can put an insertion after a replacement that starts at its offset.
                XCTAssertThrowsError(try JSONSplicer.pieces(edits, originalCount: n), "round \(round)")
                continue
            }
            let (pieces, size) = try JSONSplicer.pieces(edits, originalCount: n)
            var gathered: [UInt8] = []
            for piece in pieces {
                switch piece {
                case .original(let r):
                    XCTAssertFalse(r.isEmpty, "round \(round)")
                    gathered += original[r]
                case .replacement(let k):
                    XCTAssertFalse(edits[k].replacement.isEmpty, "round \(round)")
                    gathered += edits[k].replacement
                }
            }
            XCTAssertEqual(gathered, copied, "round \(round)")
            XCTAssertEqual(size, copied.count, "round \(round)")
        }
    }

    func testRejectsOverlappingAndOutOfBoundsEdits() {
        let original = utf8("0123456789")
        XCTAssertThrowsError(try JSONSplicer.apply([.replace(2 ..< 5, with: []), .replace(4 ..< 6, with: [])], to: original))
        XCTAssertThrowsError(try JSONSplicer.apply([.replace(2 ..< 5, with: []), .insert([1], at: 3)], to: original))
        XCTAssertThrowsError(try JSONSplicer.apply([.replace(5 ..< 8, with: []), .insert([1], at: 5)], to: original))
        XCTAssertNoThrow(try JSONSplicer.apply([.insert([1], at: 5), .replace(5 ..< 8, with: [])], to: original))
        XCTAssertThrowsError(try JSONSplicer.apply([.replace(8 ..< 11, with: [])], to: original))
    }
}
