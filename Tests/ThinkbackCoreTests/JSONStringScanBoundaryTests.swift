import XCTest
@testable import ThinkbackCore

/// The string scanner reads sixteen bytes at a time, handles several special bytes per block
/// and checks CJK six bytes at a time, with a byte loop for the last bytes of the buffer. These
/// tests put every kind of special byte, valid or not, at every offset relative to those
/// blocks and to the end of the buffer, and compare the outcome (the span, or the error's
/// offset and reason) with a byte-at-a-time reference.
final class JSONStringScanBoundaryTests: XCTestCase {
    /// Snippets placed inside a string: escapes, control bytes, UTF-8 sequences, valid and not.
    static let snippets: [[UInt8]] = [
        Array(#"\""#.utf8), Array(#"\\"#.utf8), Array(#"\n"#.utf8), Array(#"\/"#.utf8), Array(#"\u00e9"#.utf8),
        Array(#"\uD83D\uDE00"#.utf8), Array(#"\u12G4"#.utf8), Array(#"\x"#.utf8), Array(#"\u12"#.utf8), [0x5C],
        [0x01], [0x1F], [0x7F], [0x0A], [0x22], [0x22, 0x22],
        [0xC3, 0xA9], [0xE5, 0x8C, 0x97], [0xF0, 0x9F, 0x98, 0x80], [0xF4, 0x8F, 0xBF, 0xBF],
        [0xE0, 0xA0, 0x80], [0xED, 0x9F, 0xBF], [0xEF, 0xBF, 0xBF], [0xEE, 0x80, 0x80],
        [0xED, 0xA0, 0x80], [0xE0, 0x80, 0x80], [0xC0, 0x80], [0xC1, 0xBF], [0xF4, 0x90, 0x80, 0x80],
        [0xF5, 0x80, 0x80, 0x80], [0x80], [0xBF], [0xFF], [0xE5, 0x8C], [0xE5], [0xF0, 0x9F, 0x98],
        [0xE5, 0x8C, 0x41], [0xE5, 0x41, 0x80],
        // Runs for the two-at-a-time CJK check: plain leads, E0/ED leads, a bad byte late.
        Array("北京北京北京".utf8), Array("北京\u{0800}京\u{D7FF}北".utf8), Array("北京北京".utf8) + [0xE5, 0x8C, 0x22],
        Array("北京北".utf8) + [0xE5, 0xC0, 0x80], Array("北京北京北".utf8) + [0xED, 0xA0, 0x80],
        Array("é北😀京".utf8), Array("北京".utf8) + [0x5C, 0x6E] + Array("北京".utf8),
    ]

    func testEverySpecialByteAtEveryOffsetMatchesTheReference() {
        var checked = 0
        for snippet in Self.snippets {
            for before in 0 ..< 36 {
                for after in [0, 1, 2, 5, 7, 8, 9, 15, 16, 17, 31] {
                    for closed in [true, false] {
                        var doc: [UInt8] = [0x22]
                        doc += (0 ..< before).map { UInt8(ascii: "a") + UInt8($0 % 26) }
                        doc += snippet
                        doc += [UInt8](repeating: UInt8(ascii: "z"), count: after)
                        if closed { doc.append(0x22) }
                        compare(doc)
                        // The same string followed by more of the document (the block loop
                        // instead of the tail loop near the end).
                        compare(doc + Array(#", "tail of the document"]"#.utf8), prefix: [UInt8(ascii: "[")])
                        checked += 1
                    }
                }
            }
        }
        XCTAssertGreaterThan(checked, 10_000)
    }

    func testSeveralSpecialsInOneBlock() {
        // Every pair of snippets, at a few relative distances, inside and across blocks.
        let short = Self.snippets.filter { $0.count <= 6 }
        for a in short {
            for b in short {
                for gap in [0, 1, 3, 9] {
                    for before in [0, 5, 13] {
                        var doc: [UInt8] = [0x22] + [UInt8](repeating: 0x61, count: before) + a
                        doc += [UInt8](repeating: 0x62, count: gap) + b + [UInt8](repeating: 0x63, count: 20) + [0x22]
                        compare(doc)
                    }
                }
            }
        }
    }

    /// The reference fails too when the scanner is wrong: a sanity check of the comparison.
    func testReferenceDisagreesWithAWrongAnswer() {
        let doc: [UInt8] = [0x22] + [UInt8](repeating: 0x61, count: 20) + [0xED, 0xA0, 0x80, 0x22]
        XCTAssertEqual(Self.reference(doc, from: 0), .failure(JSONSyntaxError(offset: 21, reason: "invalid UTF-8 in string")))
        XCTAssertNotEqual(Self.reference(doc, from: 0), .success(JSONStringSpan(content: 1 ..< 24, hasEscapes: false)))
    }

    private func compare(_ string: [UInt8], prefix: [UInt8] = [], file: StaticString = #filePath, line: UInt = #line) {
        let doc = prefix + string
        let expected = Self.reference(doc, from: prefix.count)
        let actual: Result<JSONStringSpan, JSONSyntaxError> = doc.withUnsafeBytes { raw in
            var reader = JSONReader(raw, offset: prefix.count)
            do throws(JSONSyntaxError) {
                return .success(try reader.readString())
            } catch {
                return .failure(error)
            }
        }
        XCTAssertEqual(actual, expected, "\(doc)", file: file, line: line)
    }

    /// A byte-at-a-time string scanner with the same rules and error reports.
    static func reference(_ p: [UInt8], from quote: Int) -> Result<JSONStringSpan, JSONSyntaxError> {
        func fail(_ at: Int, _ reason: String) -> Result<JSONStringSpan, JSONSyntaxError> {
            .failure(JSONSyntaxError(offset: at, reason: reason))
        }
        func isHex(_ c: UInt8) -> Bool {
            (0x30 ... 0x39).contains(c) || (0x41 ... 0x46).contains(c) || (0x61 ... 0x66).contains(c)
        }
        let end = p.count
        var i = quote + 1
        var escapes = false
        while true {
            guard i < end else { return fail(quote, "unterminated string") }
            let c = p[i]
            switch c {
            case 0x22:
                return .success(JSONStringSpan(content: quote + 1 ..< i, hasEscapes: escapes))
            case 0x5C:
                escapes = true
                guard i + 1 < end else { return fail(i, "unterminated string") }
                switch p[i + 1] {
                case 0x22, 0x5C, 0x2F, 0x62, 0x66, 0x6E, 0x72, 0x74:
                    i += 2
                case 0x75:
                    guard i + 6 <= end else { return fail(i, "truncated \\u escape") }
                    for k in 2 ..< 6 where !isHex(p[i + k]) { return fail(i + k, "invalid hex digit in \\u escape") }
                    i += 6
                default:
                    return fail(i, "invalid escape in string")
                }
            case 0 ..< 0x20:
                return fail(i, "control character in string")
            case 0x20 ..< 0x80:
                i += 1
            default:
                // Unicode Table 3-7.
                func byte(_ k: Int) -> UInt8? { i + k < end ? p[i + k] : nil }
                func within(_ k: Int, _ range: ClosedRange<UInt8>) -> Bool { byte(k).map { range.contains($0) } ?? false }
                let n: Int
                switch c {
                case 0xC2 ... 0xDF: n = within(1, 0x80 ... 0xBF) ? 2 : 0
                case 0xE0: n = within(1, 0xA0 ... 0xBF) && within(2, 0x80 ... 0xBF) ? 3 : 0
                case 0xE1 ... 0xEC, 0xEE ... 0xEF: n = within(1, 0x80 ... 0xBF) && within(2, 0x80 ... 0xBF) ? 3 : 0
                case 0xED: n = within(1, 0x80 ... 0x9F) && within(2, 0x80 ... 0xBF) ? 3 : 0
                case 0xF0: n = within(1, 0x90 ... 0xBF) && within(2, 0x80 ... 0xBF) && within(3, 0x80 ... 0xBF) ? 4 : 0
                case 0xF1 ... 0xF3: n = within(1, 0x80 ... 0xBF) && within(2, 0x80 ... 0xBF) && within(3, 0x80 ... 0xBF) ? 4 : 0
                case 0xF4: n = within(1, 0x80 ... 0x8F) && within(2, 0x80 ... 0xBF) && within(3, 0x80 ... 0xBF) ? 4 : 0
                default: n = 0
                }
                if n == 0 { return fail(i, "invalid UTF-8 in string") }
                i += n
            }
        }
    }
}
