import XCTest
@testable import ThinkbackCore

final class CryptoSHA256Tests: XCTestCase {
    private func sha256Hex(_ text: String) -> String {
        SHA256.hash(Array(text.utf8)).hex
    }

    // FIPS 180-4 examples (NIST CSRC "SHA256.pdf" and "SHA2_Additional.pdf").
    func testEmptyMessage() {
        XCTAssertEqual(sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    func testAbc() {
        XCTAssertEqual(sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    func testTwoBlockMessage448Bits() {
        XCTAssertEqual(
            sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        )
    }

    func testMessage896Bits() {
        XCTAssertEqual(
            sha256Hex(
                "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"
            ),
            "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"
        )
    }

    func testOneMillionAs() {
        let expected = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
        XCTAssertEqual(SHA256.hash([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)).hex, expected)

        // The same message fed in uneven chunks.
        var hasher = SHA256()
        let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 997)
        var left = 1_000_000
        while left > 0 {
            let n = min(left, chunk.count)
            hasher.update(chunk[0..<n])
            left -= n
        }
        XCTAssertEqual(hasher.finalize().hex, expected)
    }

    // Lengths around the padding boundaries (55/56 bytes left in the last block); reference
    // digests from Python's hashlib over bytes 0, 1, 2, … (mod 256).
    func testPaddingBoundaries() {
        let expected: [Int: String] = [
            55: "463eb28e72f82e0a96c0a4cc53690c571281131f672aa229e0d45ae59b598b59",
            56: "da2ae4d6b36748f2a318f23e7ab1dfdf45acdc9d049bd80e59de82a60895f562",
            57: "2fe741af801cc238602ac0ec6a7b0c3a8a87c7fc7d7f02a3fe03d1c12eac4d8f",
            63: "29af2686fd53374a36b0846694cc342177e428d1647515f078784d69cdb9e488",
            64: "fdeab9acf3710362bd2658cdc9a29e8f9c757fcf9811603a8c447cd1d9151108",
            65: "4bfd2c8b6f1eec7a2afeb48b934ee4b2694182027e6d0fc075074f2fabb31781",
            119: "da18797ed7c3a777f0847f429724a2d8cd5138e6ed2895c3fa1a6d39d18f7ec6",
            120: "f52b23db1fbb6ded89ef42a23ce0c8922c45f25c50b568a93bf1c075420bbb7c",
            127: "92ca0fa6651ee2f97b884b7246a562fa71250fedefe5ebf270d31c546bfea976",
            128: "471fb943aa23c511f6f72f8d1652d9c880cfa392ad80503120547703e56a2be5",
            129: "5099c6a56203f9687f7d33f4bfdf576d31dc91f6b695ecea38b2770c87631135",
        ]
        for (length, hex) in expected {
            let message = (0..<length).map { UInt8(truncatingIfNeeded: $0) }
            XCTAssertEqual(SHA256.hash(message).hex, hex, "length \(length)")
        }
    }

    func testUpdateSplitAtEveryPositionEqualsOneShot() {
        let message = (0..<300).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
        for length in [0, 1, 63, 64, 65, 128, 200, 300] {
            let whole = Array(message[0..<length])
            let oneShot = SHA256.hash(whole)
            for split in 0...length {
                var hasher = SHA256()
                hasher.update(whole[0..<split])
                hasher.update(whole[split...])
                XCTAssertEqual(hasher.finalize(), oneShot, "length \(length) split \(split)")
            }
        }
    }

    func testByteByByteEqualsOneShot() {
        let message = (0..<257).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        var hasher = SHA256()
        for byte in message { hasher.update(CollectionOfOne(byte)) }
        XCTAssertEqual(hasher.finalize(), SHA256.hash(message))
    }

    func testFinalizeLeavesHasherUsable() {
        var hasher = SHA256()
        hasher.update(Array("ab".utf8))
        XCTAssertEqual(hasher.finalize(), SHA256.hash(Array("ab".utf8)))
        hasher.update(Array("c".utf8))
        XCTAssertEqual(hasher.finalize().hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    func testNonContiguousInputIsHashedLikeAnArray() {
        let lazy = (0..<100).lazy.map { UInt8($0) }
        XCTAssertEqual(SHA256.hash(lazy), SHA256.hash(Array(lazy)))
    }

    func testDigestBytesRoundTrip() {
        let digest = SHA256.hash(Array("abc".utf8))
        XCTAssertEqual(digest.bytes.count, SHA256Digest.byteCount)
        XCTAssertEqual(SHA256Digest(bytes: digest.bytes), digest)
        XCTAssertNil(SHA256Digest(bytes: digest.bytes.dropLast()))
        XCTAssertEqual(digest.bytes.first, 0xba)
        XCTAssertEqual(digest.description, digest.hex)
    }

    func testHexRoundTrip() {
        let bytes: [UInt8] = [0x00, 0x0f, 0xa0, 0xff]
        let hex = bytes.withUnsafeBytes { Hex.encode($0) }
        XCTAssertEqual(hex, "000fa0ff")
        XCTAssertEqual(Hex.decode(hex), bytes)
        XCTAssertEqual(Hex.decode("000FA0FF"), bytes)
        XCTAssertNil(Hex.decode("abc"))
        XCTAssertNil(Hex.decode("zz"))
    }
}
