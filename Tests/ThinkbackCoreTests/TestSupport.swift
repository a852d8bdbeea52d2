import Foundation
import XCTest
import ThinkbackTestSupport
@testable import ThinkbackCore

func utf8(_ s: String) -> [UInt8] { Array(s.utf8) }

func text(_ b: [UInt8]) -> String { String(decoding: b, as: UTF8.self) }

/// Validates with the scanner; `nil` if valid, else the error.
func scanError(_ s: String) -> JSONSyntaxError? {
    scanError(utf8(s))
}

func scanError(_ b: [UInt8]) -> JSONSyntaxError? {
    do { try JSONValidator.validate(b); return nil } catch { return error }
}

/// Whether Foundation's JSONSerialization accepts the document (fragments allowed).
func foundationAccepts(_ b: [UInt8]) -> Bool {
    (try? JSONSerialization.jsonObject(with: Data(b), options: [.fragmentsAllowed])) != nil
}

func foundationObject(_ b: [UInt8]) throws -> Any {
    try JSONSerialization.jsonObject(with: Data(b), options: [.fragmentsAllowed])
}

/// A string with every kind of character that JSON escaping must get right.
let nastyString = "quote \" backslash \\ slash / newline \n cr \r tab \t bs \u{8} ff \u{C} nul \u{0} us \u{1F} del \u{7F} "
    + "CJK 北京 emoji 😀👨‍👩‍👧 combining é astral 𝄞 BOM \u{FEFF} LS \u{2028} PS \u{2029} \\u0041 literal \\n end"
