import XCTest
@testable import ThinkbackCore

/// RFC 4231 §4, test cases 1–7 (HMAC-SHA-256 column).
final class CryptoHMACTests: XCTestCase {
    private func mac(key: [UInt8], data: [UInt8]) -> String {
        HMACSHA256.authenticationCode(for: data, key: key).hex
    }

    private let longKey = [UInt8](repeating: 0xaa, count: 131)

    func testCase1() {
        XCTAssertEqual(
            mac(key: [UInt8](repeating: 0x0b, count: 20), data: Array("Hi There".utf8)),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        )
    }

    func testCase2KeyShorterThanOutput() {
        XCTAssertEqual(
            mac(key: Array("Jefe".utf8), data: Array("what do ya want for nothing?".utf8)),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        )
    }

    func testCase3() {
        XCTAssertEqual(
            mac(key: [UInt8](repeating: 0xaa, count: 20), data: [UInt8](repeating: 0xdd, count: 50)),
            "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"
        )
    }

    func testCase4() {
        XCTAssertEqual(
            mac(key: Array(1...25), data: [UInt8](repeating: 0xcd, count: 50)),
            "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"
        )
    }

    func testCase5TruncatedTo128Bits() {
        let full = mac(key: [UInt8](repeating: 0x0c, count: 20), data: Array("Test With Truncation".utf8))
        XCTAssertEqual(String(full.prefix(32)), "a3b6167473100ee06e0c796c2955552b")
    }

    func testCase6KeyLargerThanBlock() {
        XCTAssertEqual(
            mac(key: longKey, data: Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8)),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        )
    }

    func testCase7KeyAndDataLargerThanBlock() {
        let data = Array(
            ("This is a test using a larger than block-size key and a larger than block-size data."
                + " The key needs to be hashed before being used by the HMAC algorithm.").utf8
        )
        XCTAssertEqual(
            mac(key: longKey, data: data),
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"
        )
    }

    func testUpdateSplitAtEveryPositionEqualsOneShot() {
        let key = Array("key".utf8)
        let message = (0..<150).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        let oneShot = HMACSHA256.authenticationCode(for: message, key: key)
        let keyed = HMACSHA256(key: key)
        for split in 0...message.count {
            var mac = keyed
            mac.update(message[0..<split])
            mac.update(message[split...])
            XCTAssertEqual(mac.finalize(), oneShot, "split \(split)")
        }
    }

    func testKeyedStateIsReusable() {
        let keyed = HMACSHA256(key: Array("k".utf8))
        var first = keyed
        first.update(Array("one".utf8))
        var second = keyed
        second.update(Array("two".utf8))
        XCTAssertEqual(first.finalize(), HMACSHA256.authenticationCode(for: Array("one".utf8), key: Array("k".utf8)))
        XCTAssertEqual(second.finalize(), HMACSHA256.authenticationCode(for: Array("two".utf8), key: Array("k".utf8)))
    }
}
