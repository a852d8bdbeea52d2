import XCTest
@testable import ThinkbackCore

final class ProxyKeySetTests: XCTestCase {
    func testKeysMatchByHashAndTheFileHoldsNoKey() throws {
        var generator = SystemRandomNumberGenerator()
        let alice = ProxyKeySet.newKey(using: &generator)
        let bob = ProxyKeySet.newKey(using: &generator)
        XCTAssertNotEqual(alice, bob)
        var set = ProxyKeySet()
        try set.add(name: "alice", key: alice)
        try set.add(name: "bob.b-2_x", key: bob)
        XCTAssertEqual(set.name(of: alice), "alice")
        XCTAssertEqual(set.name(of: bob), "bob.b-2_x")
        XCTAssertNil(set.name(of: alice + "x"))
        XCTAssertNil(set.name(of: ""))
        XCTAssertFalse(set.text.contains(alice))
        let reread = try ProxyKeySet(parsing: set.text)
        XCTAssertEqual(reread, set)
        XCTAssertEqual(reread.name(of: bob), "bob.b-2_x")
        XCTAssertThrowsError(try set.add(name: "alice", key: "other"))
        XCTAssertThrowsError(try set.add(name: "a b", key: "k"))
        XCTAssertThrowsError(try set.add(name: String(repeating: "a", count: 65), key: "k"))
        XCTAssertTrue(set.remove(name: "alice"))
        XCTAssertFalse(set.remove(name: "alice"))
        XCTAssertNil(set.name(of: alice))
    }

    func testAMalformedFileIsRefused() {
        XCTAssertThrowsError(try ProxyKeySet(parsing: "alice 00ff\n"))
        XCTAssertThrowsError(try ProxyKeySet(parsing: "alice\n"))
        XCTAssertThrowsError(try ProxyKeySet(parsing: "a b " + String(repeating: "0", count: 64)))
        XCTAssertEqual(try ProxyKeySet(parsing: "").entries.count, 0)
    }
}
