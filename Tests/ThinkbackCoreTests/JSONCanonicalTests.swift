import Foundation
import XCTest
@testable import ThinkbackCore

final class JSONCanonicalTests: XCTestCase {
    func canonical(_ s: String) -> String { text(JSONCanonical.canonicalArguments(utf8(s))) }

    func testEqualValuesSpelledDifferentlyCanonicaliseIdentically() {
        let groups: [[String]] = [
            [#"{"city":"北"}"#, #"{"city":"\u5317"}"#, #" { "city" : "\u5317" } "#, "{\n\t\"city\":\"北\"\n}"],
            [#"{"a":1,"b":[true,null,{"d":"x","c":"y"}]}"#, #"{"b":[true,null,{"c":"y","d":"x"}],"a":1}"#,
             #"{ "b" : [ true , null , { "c" : "\u0079", "\u0064":"x" } ] , "a" : 1 }"#],
            [#""a/b""#, #""a\/b""#],
            [#"{"k":"😀"}"#, #"{"k":"\ud83d\ude00"}"#, #"{"\u006b":"\uD83D\uDE00"}"#],
            [#"{"a":1,"a":2}"#, #"{"a":2}"#],
            [#"{"é":1,"z":2,"A":3,"北":4,"😀":5}"#, #"{"😀":5,"北":4,"A":3,"z":2,"é":1}"#],
        ]
        for group in groups {
            let first = canonical(group[0])
            for other in group.dropFirst() { XCTAssertEqual(canonical(other), first, other) }
        }
    }

    func testCanonicalFormIsCompactSortedAndMinimallyEscaped() {
        XCTAssertEqual(canonical(#" { "b" : [1, 2.50, -0, 1e400] , "a" : "x\ny\u0001\"\\\/北" } "#),
                       #"{"a":"x\ny\u0001\"\\/北","b":[1,2.50,-0,1e400]}"#)
        // Code point order, not UTF-16 order: U+FF5E (one UTF-16 unit) sorts before U+1F600 (two).
        XCTAssertEqual(canonical(#"{"😀":1,"～":2,"a":3,"":4}"#), #"{"":4,"a":3,"～":2,"😀":1}"#)
        XCTAssertEqual(canonical(#"[ ]"#), "[]")
        XCTAssertEqual(canonical(#"{ }"#), "{}")
        XCTAssertEqual(canonical(#" "s" "#), #""s""#)
        XCTAssertEqual(canonical(#"{"a":{"c":1,"b":2},"\u0000":0}"#), #"{"\u0000":0,"a":{"b":2,"c":1}}"#)
    }

    func testNestedObjectsReorderIndependently() {
        XCTAssertEqual(canonical(#"{"a":{"y":1,"x":2},"b":{"d":1,"c":2}}"#), #"{"a":{"x":2,"y":1},"b":{"c":2,"d":1}}"#)
        XCTAssertEqual(canonical(#"{"b":{"z":1,"y":2,"z":3},"a":0}"#), #"{"a":0,"b":{"y":2,"z":3}}"#)
        XCTAssertEqual(canonical(#"[{"b":1,"a":2},{"a":1,"b":2},{"b":[{"d":1,"c":0}]}]"#),
                       #"[{"a":2,"b":1},{"a":1,"b":2},{"b":[{"c":0,"d":1}]}]"#)
        // Duplicates are found whatever their spelling, also when the keys look sorted.
        XCTAssertEqual(canonical(#"{"a":1,"\u0061":2}"#), #"{"a":2}"#)
        XCTAssertEqual(canonical(#"{"a":1,"a":2,"b":3}"#), #"{"a":2,"b":3}"#)
        XCTAssertEqual(canonical(#"{"\u0062":1,"a":2}"#), #"{"a":2,"b":1}"#)
    }

    func testTooDeepOrInvalidInsideIsKeptRaw() {
        let tooDeep = String(repeating: "[", count: 513) + String(repeating: "]", count: 513)
        XCTAssertEqual(canonical(tooDeep), tooDeep)
        let limit = String(repeating: "[", count: 512) + String(repeating: "]", count: 512)
        XCTAssertEqual(canonical(limit), limit)
        for raw in [#"{"b":1,"a":"\x"}"#, #"{"b":{"d":1,"c":2},"a":tru}"#, #"[1,2] [3]"#, "{\"a\":\"\u{1}\"}"] {
            XCTAssertEqual(canonical(raw), raw)
        }
    }

    func testDifferentValuesGiveDifferentForms() {
        let distinct = [#"{"a":1}"#, #"{"a":1.0}"#, #"{"a":"1"}"#, #"{"b":1}"#, #"{"a":[1]}"#, #"{"a":null}"#,
                        #"{"a":true}"#, #"{"a":"北"}"#, #"{"a":"北 "}"#, #"[1,2]"#, #"[2,1]"#, "{}", "[]", #""""#]
        let forms = distinct.map(canonical)
        XCTAssertEqual(Set(forms).count, distinct.count, "\(forms)")
    }

    func testNonJSONIsKeptRaw() {
        for raw in ["", "not json", "{\"a\":1", "{\"a\":1} trailing", "{'a': 1}", "  ", "[1,]"] {
            XCTAssertEqual(canonical(raw), raw)
        }
        XCTAssertEqual(JSONCanonical.canonicalArguments([0x7B, 0xFF]), [0x7B, 0xFF])
    }

    func testMaximallyNestedArgumentsCanonaliseOnASmallThreadStack() {
        // 512 levels (the limit) on a 512 KiB stack, the size of a secondary thread's default.
        let deep = String(repeating: "{\"k\":[", count: 256) + "1" + String(repeating: "]}", count: 256)
        final class Box: @unchecked Sendable { var result: [UInt8] = [] }
        let box = Box()
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            box.result = JSONCanonical.canonicalArguments(utf8(deep))
            done.signal()
        }
        thread.stackSize = 512 * 1024
        thread.start()
        done.wait()
        XCTAssertEqual(text(box.result), deep)
    }

    func testDeepArgumentsCanonicalise() {
        let deep = String(repeating: "[{\"b\":1,\"a\":", count: 200) + "0" + String(repeating: "}]", count: 200)
        let expected = String(repeating: "[{\"a\":", count: 200) + "0" + String(repeating: ",\"b\":1}]", count: 200)
        XCTAssertEqual(canonical(deep), expected)
    }
}
