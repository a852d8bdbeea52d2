import XCTest
import ThinkbackTestSupport
@testable import ThinkbackCore

/// The history fingerprint: the same bytes give the same digest however they are fed, and any
/// change — a byte, a length, the order of messages — gives another.
final class HistoryHashTests: XCTestCase {
    private func digest(_ pieces: [ArraySlice<UInt8>]) -> SHA256Digest {
        var h = HistoryHash()
        for p in pieces { Array(p).withUnsafeBytes { h.update($0) } }
        return h.finalize()
    }

    func testTheDigestDoesNotDependOnHowTheBytesArePieced() {
        var rng = SeededGenerator(seed: 11)
        for size in [0, 1, 31, 32, 33, 47, 48, 49, 95, 96, 97, 1000, 4099] {
            let bytes = (0 ..< size).map { _ in UInt8.random(in: 0 ... 255, using: &rng) }
            let whole = digest([bytes[...]])
            for _ in 0 ..< 20 {
                var cuts = (0 ..< Int.random(in: 0 ... 5, using: &rng)).map { _ in Int.random(in: 0 ... size, using: &rng) }.sorted()
                cuts = [0] + cuts + [size]
                let pieces = zip(cuts, cuts.dropFirst()).map { bytes[$0 ..< $1] }
                XCTAssertEqual(digest(pieces), whole, "size \(size), cuts \(cuts)")
            }
        }
    }

    func testEveryByteAndTheLengthCount() {
        var rng = SeededGenerator(seed: 12)
        let bytes = (0 ..< 200).map { _ in UInt8.random(in: 0 ... 255, using: &rng) }
        var seen: Set<SHA256Digest> = [digest([bytes[...]])]
        for i in 0 ..< bytes.count {
            var changed = bytes
            changed[i] ^= 0x01
            XCTAssertTrue(seen.insert(digest([changed[...]])).inserted, "flipping byte \(i)")
        }
        for n in 0 ..< bytes.count { XCTAssertTrue(seen.insert(digest([bytes[..<n]])).inserted, "prefix \(n)") }
        // Trailing zero bytes are not the same as fewer bytes (the partial stripe is zero-padded).
        XCTAssertNotEqual(digest([[1, 2, 3][...]]), digest([[1, 2, 3, 0][...]]))
    }

    func testTheHistoryDigestKeepsMessagesApart() {
        func history(_ messages: [(String, String)]) -> SHA256Digest {
            var h = HistoryHasher()
            for (role, content) in messages { Array(content.utf8).withUnsafeBytes { h.addMessage(role: role.utf8, content: $0) } }
            return h.digest()
        }
        let a = history([("user", "ab"), ("tool", "c")])
        XCTAssertNotEqual(a, history([("user", "a"), ("tool", "bc")]), "where one message ends counts")
        XCTAssertNotEqual(a, history([("tool", "c"), ("user", "ab")]), "order counts")
        XCTAssertNotEqual(a, history([("system", "ab"), ("tool", "c")]), "roles count")
        XCTAssertEqual(a, history([("user", "ab"), ("tool", "c")]))
    }
}
