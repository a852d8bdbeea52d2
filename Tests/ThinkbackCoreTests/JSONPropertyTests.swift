import Foundation
import XCTest
import ThinkbackTestSupport
@testable import ThinkbackCore

/// Random documents checked against Foundation's JSONSerialization. Foundation wrongly
/// rejects a few valid inputs (numbers out of Double range such as `1e400`, lone surrogate
/// escapes such as `"\ud800"`), so the generators avoid those and `JSONReaderTests` checks
/// them against the RFC directly.
final class JSONPropertyTests: XCTestCase {
    func testGeneratedValidDocumentsAreAcceptedByBoth() {
        var rng = SeededGenerator(seed: 0x7468_696E_6B62)
        for n in 0 ..< 1500 {
            var doc = ""
            Self.generateValue(&rng, depth: 0, into: &doc)
            let bytes = utf8(Self.pad(&rng) + doc + Self.pad(&rng))
            XCTAssertTrue(foundationAccepts(bytes), "generator produced something Foundation rejects (#\(n)): \(doc)")
            XCTAssertNil(scanError(bytes), "scanner rejects #\(n): \(doc)")
        }
    }

    func testGeneratedStringsDecodeLikeFoundation() throws {
        var rng = SeededGenerator(seed: 42)
        for _ in 0 ..< 1000 {
            var doc = ""
            Self.generateString(&rng, into: &doc)
            let bytes = utf8(doc)
            let expected = try XCTUnwrap(foundationObject(bytes) as? String)
            try bytes.withUnsafeBytes { raw in
                var r = JSONReader(raw)
                let span = try r.readString()
                XCTAssertEqual(span.decodedString(in: raw), expected, doc)
            }
        }
    }

    func testCanonicalFormOfGeneratedDocumentsIsTheSameValueAndIdempotent() throws {
        var rng = SeededGenerator(seed: 2024)
        for n in 0 ..< 800 {
            var doc = ""
            Self.generateValue(&rng, depth: 0, into: &doc)
            let canonical = JSONCanonical.canonicalArguments(utf8(doc))
            XCTAssertEqual(JSONCanonical.canonicalArguments(canonical), canonical, "#\(n)")
            let original = try XCTUnwrap(foundationObject(utf8(doc)) as? NSObject)
            let rewritten = try XCTUnwrap(foundationObject(canonical) as? NSObject)
            XCTAssertTrue(original.isEqual(rewritten), "#\(n): \(doc) -> \(text(canonical))")
            XCTAssertFalse(canonical.contains(UInt8(ascii: "\n")), "#\(n)")
        }
    }

    func testMutatedDocumentsAgreeWithFoundation() {
        var rng = SeededGenerator(seed: 99)
        var disagreements: [String] = []
        var rejected = 0
        for _ in 0 ..< 4000 {
            var doc = ""
            Self.generateValue(&rng, depth: 0, into: &doc)
            var bytes = utf8(doc)
            Self.mutate(&bytes, &rng)
            let ours = scanError(bytes) == nil
            let theirs = foundationAccepts(bytes)
            if !ours { rejected += 1 }
            if ours != theirs, !Self.isKnownFoundationDifference(bytes, oursAccepts: ours) {
                disagreements.append("ours=\(ours) foundation=\(theirs): \(String(decoding: bytes, as: UTF8.self).debugDescription) \(bytes.suffix(8))")
            }
        }
        XCTAssertTrue(disagreements.isEmpty, disagreements.prefix(10).joined(separator: "\n"))
        XCTAssertGreaterThan(rejected, 1000, "mutations should break many documents")
    }

    // MARK: Generators

    static func pad(_ rng: inout SeededGenerator) -> String {
        let ws = [" ", "\n", "\r", "\t", "", ""]
        return (0 ..< Int.random(in: 0 ... 2, using: &rng)).map { _ in ws.randomElement(using: &rng)! }.joined()
    }

    static func generateValue(_ rng: inout SeededGenerator, depth: Int, into out: inout String) {
        let choice = depth > 5 ? Int.random(in: 0 ..< 5, using: &rng) : Int.random(in: 0 ..< 8, using: &rng)
        switch choice {
        case 0: out += ["true", "false", "null"].randomElement(using: &rng)!
        case 1, 2: generateNumber(&rng, into: &out)
        case 3, 4: generateString(&rng, into: &out)
        case 5:
            out += "[" + pad(&rng)
            for k in 0 ..< Int.random(in: 0 ... 4, using: &rng) {
                if k > 0 { out += pad(&rng) + "," + pad(&rng) }
                generateValue(&rng, depth: depth + 1, into: &out)
            }
            out += pad(&rng) + "]"
        default:
            out += "{" + pad(&rng)
            for k in 0 ..< Int.random(in: 0 ... 4, using: &rng) {
                if k > 0 { out += pad(&rng) + "," + pad(&rng) }
                generateString(&rng, into: &out)
                out += pad(&rng) + ":" + pad(&rng)
                generateValue(&rng, depth: depth + 1, into: &out)
            }
            out += pad(&rng) + "}"
        }
    }

    static func generateNumber(_ rng: inout SeededGenerator, into out: inout String) {
        if Bool.random(using: &rng) { out += "-" }
        out += Bool.random(using: &rng) ? "0" : String(Int.random(in: 1 ... 999_999, using: &rng))
        if Bool.random(using: &rng) { out += "." + String(Int.random(in: 0 ... 99_999, using: &rng)) }
        if Int.random(in: 0 ..< 4, using: &rng) == 0 {
            out += ["e", "E", "e+", "e-", "E-"].randomElement(using: &rng)! + String(Int.random(in: 0 ... 30, using: &rng))
        }
    }

    static func generateString(_ rng: inout SeededGenerator, into out: inout String) {
        let pieces = ["a", "Z", " ", "北", "京", "😀", "é", "\u{7F}", "\u{2028}", "𝄞",
                      "\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t",
                      "\\u0041", "\\u00e9", "\\u5317", "\\ud83d\\ude00", "\\u0000", "\\u001f", "\\uFFFF",
                      "abcdefghij", "0123456789abcdef"]
        out += "\""
        for _ in 0 ..< Int.random(in: 0 ... 12, using: &rng) { out += pieces.randomElement(using: &rng)! }
        out += "\""
    }

    static func mutate(_ bytes: inout [UInt8], _ rng: inout SeededGenerator) {
        let interesting: [UInt8] = [0x22, 0x5C, 0x7B, 0x7D, 0x5B, 0x5D, 0x2C, 0x3A, 0x20, 0x0A, 0x00, 0x1F,
                                    0x30, 0x2D, 0x2E, 0x65, 0x74, 0x6E, 0x75, 0x80, 0xC3, 0xE5, 0xFF]
        for _ in 0 ..< Int.random(in: 1 ... 3, using: &rng) {
            switch Int.random(in: 0 ..< 4, using: &rng) {
            case 0 where !bytes.isEmpty:
                bytes.remove(at: Int.random(in: 0 ..< bytes.count, using: &rng))
            case 1:
                bytes.insert(interesting.randomElement(using: &rng)!, at: Int.random(in: 0 ... bytes.count, using: &rng))
            case 2 where !bytes.isEmpty:
                bytes[Int.random(in: 0 ..< bytes.count, using: &rng)] = interesting.randomElement(using: &rng)!
            default:
                if !bytes.isEmpty { bytes.removeLast(Int.random(in: 0 ... min(3, bytes.count), using: &rng)) }
            }
        }
    }

    /// Inputs where Foundation is known to deviate from RFC 8259: it rejects lone surrogate
    /// escapes and numbers it cannot represent, and it stops reading at a NUL byte outside a
    /// string (accepting `0\0`); we check those by the RFC instead.
    static func isKnownFoundationDifference(_ bytes: [UInt8], oursAccepts: Bool) -> Bool {
        if !oursAccepts {
            guard let nul = bytes.firstIndex(of: 0) else { return false }
            return scanError(Array(bytes[..<nul])) == nil
        }
        let s = String(decoding: bytes, as: UTF8.self).lowercased()
        return s.contains("\\ud8") || s.contains("\\ud9") || s.contains("\\uda") || s.contains("\\udb")
            || s.contains("\\udc") || s.contains("\\udd") || s.contains("\\ude") || s.contains("\\udf")
            || s.range(of: "[eE][+-]?[0-9]{3,}", options: .regularExpression) != nil
    }
}
