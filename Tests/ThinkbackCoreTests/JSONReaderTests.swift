import XCTest
@testable import ThinkbackCore

final class JSONReaderTests: XCTestCase {
    func testAcceptsValidDocuments() {
        let valid = [
            "0", "-0", "1", "-1", "1.5", "-1.5e10", "1E+2", "1e-2", "0.0", "1e400", "-1e-400",
            "123456789012345678901234567890", "123456789012345678901234567890.123456789e-999",
            "true", "false", "null", "\"\"", "\"a\"", "[]", "{}", "[[]]", "{\"a\":{}}",
            " \t\n\r[ 1 , 2 , { \"a\" : [ true , false , null ] } ] \r\n\t ",
            "\"\\u0041\\u00e9\\u5317\\ud83d\\ude00\"", "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"",
            "\"\\ud800\\ud800\"", "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"北京😀\"", "\"\u{7F}\"",
            "{\"a\":1,\"a\":2}", "[1,[2,[3,[4]]]]", "{\"\":\"\"}",
        ]
        for doc in valid {
            XCTAssertNil(scanError(doc), "should accept \(doc)")
        }
    }

    func testRejectsInvalidDocumentsWithOffsetAndReason() {
        let invalid: [(String, Int)] = [
            ("", 0), (" ", 1), ("[", 1), ("]", 0), ("{", 1), ("{\"a\"}", 4), ("{\"a\":}", 5),
            ("{\"a\":1,}", 7), ("[1,]", 3), ("[1 2]", 3), ("01", 0), ("-", 1), ("1.", 2), ("1.e1", 2),
            ("1e", 2), ("1e+", 3), (".5", 0), ("+1", 0), ("tru", 3), ("nul", 3), ("True", 0),
            ("\"abc", 0), ("\"\\x\"", 1), ("\"\\u12\"", 1), ("\"\\u12G4\"", 5), ("\"a\nb\"", 2),
            ("\"\t\"", 1), ("[1] x", 4), ("{} {}", 3), ("[1,,2]", 3), ("{,}", 1), ("{1:2}", 1),
            ("NaN", 0), ("Infinity", 0), ("'a'", 0), ("[\"a\"\"b\"]", 4), ("\u{FEFF}1", 0),
            ("{\"a\" 1}", 5), ("[-01]", 2), ("[1e5.5]", 4),
        ]
        for (doc, offset) in invalid {
            guard let error = scanError(doc) else {
                XCTFail("should reject \(doc.debugDescription)")
                continue
            }
            XCTAssertEqual(error.offset, offset, "offset for \(doc.debugDescription): \(error.reason)")
            XCTAssertFalse(error.reason.isEmpty)
        }
    }

    func testRejectsInvalidUTF8InStrings() {
        let cases: [([UInt8], Int)] = [
            ([0x22, 0xFF, 0x22], 1),                   // never valid
            ([0x22, 0x80, 0x22], 1),                   // lone continuation
            ([0x22, 0xC0, 0x80, 0x22], 1),             // overlong NUL
            ([0x22, 0xC1, 0xBF, 0x22], 1),             // overlong
            ([0x22, 0xE0, 0x80, 0x80, 0x22], 1),       // overlong 3-byte
            ([0x22, 0xED, 0xA0, 0x80, 0x22], 1),       // encoded surrogate U+D800
            ([0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], 1), // above U+10FFFF
            ([0x22, 0xF5, 0x80, 0x80, 0x80, 0x22], 1),
            ([0x22, 0xE5, 0x8C, 0x22], 1),             // truncated 3-byte
            ([0x22, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0xE5, 0x22], 9), // after the 8-byte fast path
        ]
        for (doc, offset) in cases {
            let error = scanError(doc)
            XCTAssertEqual(error?.offset, offset, "\(doc)")
            XCTAssertEqual(error?.reason, "invalid UTF-8 in string")
        }
        XCTAssertNil(scanError([0x22, 0xF0, 0x9F, 0x98, 0x80, 0xE5, 0x8C, 0x97, 0xC3, 0xA9, 0x22]))
        XCTAssertNil(scanError([0x22, 0xF4, 0x8F, 0xBF, 0xBF, 0xEF, 0xBF, 0xBF, 0x22]))
    }

    func testRejectsEveryControlCharacterInStrings() {
        for c: UInt8 in 0 ..< 0x20 {
            for pad in 0 ..< 10 {
                let doc = [0x22] + [UInt8](repeating: 0x61, count: pad) + [c, 0x22]
                XCTAssertEqual(scanError(doc)?.offset, 1 + pad)
            }
        }
    }

    func testFindsQuotesAndBackslashesAtEveryPositionOfTheFastPath() {
        for pad in 0 ..< 20 {
            let s = "\"" + String(repeating: "x", count: pad) + "\\\"" + String(repeating: "y", count: pad) + "\""
            var reader = JSONReader(UnsafeRawBufferPointer(start: nil, count: 0))
            _ = reader
            let bytes = utf8(s)
            bytes.withUnsafeBytes { raw in
                reader = JSONReader(raw)
                let span = try? reader.readString()
                XCTAssertEqual(span?.content, 1 ..< bytes.count - 1)
                XCTAssertEqual(span?.hasEscapes, true)
                XCTAssertEqual(span.map { text($0.decodedBytes(in: raw)) },
                               String(repeating: "x", count: pad) + "\"" + String(repeating: "y", count: pad))
            }
        }
    }

    func testNestingLimit() {
        let ok = String(repeating: "[", count: 512) + String(repeating: "]", count: 512)
        XCTAssertNil(scanError(ok))
        let deep = String(repeating: "[", count: 513) + String(repeating: "]", count: 513)
        XCTAssertEqual(scanError(deep)?.offset, 512)
        let objects = String(repeating: "{\"a\":", count: 512) + "1" + String(repeating: "}", count: 512)
        XCTAssertNil(scanError(objects))
        let tooDeepObjects = String(repeating: "{\"a\":", count: 600) + "1" + String(repeating: "}", count: 600)
        XCTAssertNotNil(scanError(tooDeepObjects))
        XCTAssertNotNil(try? JSONValidator.validate(utf8(String(repeating: "[", count: 3000) + String(repeating: "]", count: 3000)), maxDepth: 5000))
        XCTAssertThrowsError(try JSONValidator.validate(utf8("[[1]]"), maxDepth: 1))
        // Mixed containers deeper than 64 levels exercise the spilled stack.
        var mixed = ""
        for k in 0 ..< 200 { mixed += k % 3 == 0 ? "{\"k\":" : "[" }
        mixed += "null"
        for k in (0 ..< 200).reversed() { mixed += k % 3 == 0 ? "}" : "]" }
        XCTAssertNil(scanError(mixed))
        XCTAssertNotNil(scanError(String(mixed.dropLast())))
        var swapped = Array(mixed.utf8)
        swapped[swapped.count - 1] = UInt8(ascii: "]")
        XCTAssertNotNil(scanError(swapped))
    }

    func testWalksObjectsAndArrays() throws {
        let doc = utf8(#" { "a" : [1, "two", {"three": 3}], "b\u0062": null, "c": true } "#)
        try doc.withUnsafeBytes { raw in
            var r = JSONReader(raw)
            XCTAssertEqual(try r.peekKind(), .object)
            try r.beginObject()
            let a = try XCTUnwrap(r.nextKey())
            XCTAssertEqual(a.decodedString(in: raw), "a")
            try r.beginArray()
            XCTAssertTrue(try r.nextElement())
            let one = try r.readNumber()
            XCTAssertEqual(r.integerValue(of: one), 1)
            XCTAssertTrue(try r.nextElement())
            XCTAssertEqual(try r.readString().decodedString(in: raw), "two")
            XCTAssertTrue(try r.nextElement())
            let obj = try r.skipValue()
            XCTAssertEqual(obj.kind, .object)
            XCTAssertEqual(text(Array(raw[obj.range])), #"{"three": 3}"#)
            XCTAssertFalse(try r.nextElement())
            let bb = try XCTUnwrap(r.nextKey())
            XCTAssertTrue(bb.hasEscapes)
            XCTAssertTrue(bb.equals("bb", in: raw))
            XCTAssertFalse(bb.equals("b", in: raw))
            try r.readNull()
            let c = try XCTUnwrap(r.nextKey())
            XCTAssertTrue(c.equals("c", in: raw))
            XCTAssertTrue(try r.readBool())
            XCTAssertNil(try r.nextKey())
            try r.finish()
            XCTAssertEqual(r.depth, 0)
        }
    }

    func testDecodesEscapesAndSurrogates() throws {
        let cases: [(String, String)] = [
            (#""\u0041\u00e9\u5317\ud83d\ude00""#, "Aé北😀"),
            (#""\ud800""#, "\u{FFFD}"),
            (#""\udc00x""#, "\u{FFFD}x"),
            (#""\ud800\u0041""#, "\u{FFFD}A"),
            (#""\ud800\ud800\udc00""#, "\u{FFFD}𐀀"),
            (#""\"\\\/\b\f\n\r\t""#, "\"\\/\u{8}\u{C}\n\r\t"),
            (#""\u0000""#, "\u{0}"),
            (#""plain 北京""#, "plain 北京"),
            (#""\uD83D\uDE00""#, "😀"),
        ]
        for (doc, expected) in cases {
            let bytes = utf8(doc)
            try bytes.withUnsafeBytes { raw in
                var r = JSONReader(raw)
                let span = try r.readString()
                XCTAssertEqual(span.decodedString(in: raw), expected, doc)
                XCTAssertEqual(span.decodedBytes(in: raw), utf8(expected), doc)
            }
        }
    }

    func testTopLevelValueSpan() throws {
        let v = try JSONValidator.validate(utf8("  [1, 2]  "))
        XCTAssertEqual(v.kind, .array)
        XCTAssertEqual(v.range, 2 ..< 8)
        let s = try JSONValidator.validate(utf8(#" "a\n" "#))
        XCTAssertEqual(s.kind, .string)
        XCTAssertTrue(s.hasEscapes)
        XCTAssertEqual(s.stringSpan?.content, 2 ..< 5)
    }
}
