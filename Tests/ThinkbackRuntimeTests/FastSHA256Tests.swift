import CLibEvent
import XCTest
import ThinkbackCore
import ThinkbackRuntime

/// libcrypto's block function (installed by the runtime) must give SHA-256 exactly as the
/// portable Swift one does: known vectors, and every length across block boundaries.
final class FastSHA256Tests: XCTestCase {
    private func digest(_ bytes: [UInt8], fast: Bool, chunk: Int) -> String {
        let saved = SHA256.blockFunction
        defer { SHA256.blockFunction = saved }
        SHA256.blockFunction = fast ? cle_sha256_blocks : nil
        var hasher = SHA256()
        var i = 0
        while i < bytes.count {
            let n = min(chunk, bytes.count - i)
            bytes[i ..< i + n].withUnsafeBytes { hasher.update($0) }
            i += n
        }
        return hasher.finalize().hex
    }

    func testKnownVectors() {
        XCTAssertEqual(digest(Array("abc".utf8), fast: true, chunk: 64),
                       "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(digest(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8), fast: true, chunk: 7),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(digest([], fast: true, chunk: 1),
                       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    func testMatchesPortableAtEveryLength() {
        var rng = SystemRandomNumberGenerator()
        for length in Array(0 ... 300) + [4096, 65_537] {
            let bytes = (0 ..< length).map { _ in UInt8.random(in: 0 ... 255, using: &rng) }
            let chunk = Int.random(in: 1 ... 200, using: &rng)
            XCTAssertEqual(digest(bytes, fast: true, chunk: chunk), digest(bytes, fast: false, chunk: length + 1),
                           "length \(length), fed \(chunk) bytes at a time")
        }
    }

    func testTheLoopInstallsIt() throws {
        _ = try EventLoop()
        XCTAssertNotNil(SHA256.blockFunction)
    }
}
