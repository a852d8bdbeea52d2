import XCTest
import ThinkbackTestSupport
@testable import ThinkbackCore

/// The SQLite store's key filter: never a false negative, few false positives, bounded memory.
final class KeyFingerprintSetTests: XCTestCase {
    private func randomFingerprints(_ count: Int, seed: UInt64) -> [UInt32] {
        var generator = SeededGenerator(seed: seed)
        return (0..<count).map { _ in UInt32(truncatingIfNeeded: generator.next()) }
    }

    func testEveryInsertedFingerprintIsFoundWhileTheTableGrows() {
        var set = KeyFingerprintSet()
        let fingerprints = randomFingerprints(200_000, seed: 1)
        for (n, fingerprint) in fingerprints.enumerated() {
            set.insert(fingerprint)
            // Right after each doubling and at the end, everything inserted so far is there.
            if n.nonzeroBitCount == 1 || n == fingerprints.count - 1 {
                XCTAssertTrue(fingerprints[...n].allSatisfy { set.contains($0) }, "after \(n + 1) inserts")
            }
        }
        XCTAssertEqual(set.count, Set(fingerprints).count)
        XCTAssertGreaterThan(set.capacity, 200_000)
    }

    func testAFingerprintInsertedTwiceCountsOnce() {
        var set = KeyFingerprintSet()
        XCTAssertTrue(set.insert(42))
        XCTAssertFalse(set.insert(42))
        XCTAssertEqual(set.count, 1)
        XCTAssertTrue(set.contains(42))
        XCTAssertFalse(set.contains(43))
    }

    func testAnEmptySetHoldsNothing() {
        let set = KeyFingerprintSet()
        XCTAssertTrue(randomFingerprints(10_000, seed: 2).allSatisfy { !set.contains($0) })
        XCTAssertFalse(set.contains(0))
    }

    func testTheFingerprintZeroIsKept() {
        var set = KeyFingerprintSet()
        XCTAssertFalse(set.contains(0))
        set.insert(0)
        XCTAssertTrue(set.contains(0))
        XCTAssertEqual(set.count, 1)
    }

    func testFingerprintsSharingAHomeSlotAcrossTheTablesEndAreFound() {
        var set = KeyFingerprintSet()
        // The top ten bits all ones: every one of them starts at the last slot and wraps.
        let crowded = (0..<100).map { UInt32.max - UInt32($0) }
        for fingerprint in crowded { set.insert(fingerprint) }
        XCTAssertEqual(set.capacity, 1024, "no growth: the cluster wraps to the first slots")
        XCTAssertTrue(crowded.allSatisfy { set.contains($0) })
        XCTAssertFalse(set.contains(UInt32.max - 100))
        XCTAssertFalse(set.contains(1), "an empty home slot right after the wrapped cluster")
        for fingerprint in (0..<50).map({ UInt32($0) << 22 | 7 }) { set.insert(fingerprint) }
        XCTAssertTrue(crowded.allSatisfy { set.contains($0) })
    }

    func testFalsePositivesStayNearCountOverTwoToThe32() {
        var set = KeyFingerprintSet()
        let inserted = randomFingerprints(100_000, seed: 3)
        for fingerprint in inserted { set.insert(fingerprint) }
        let members = Set(inserted)
        let others = randomFingerprints(1_000_000, seed: 4).filter { !members.contains($0) }
        let falsePositives = others.filter { set.contains($0) }.count
        // Expected: 1e6 × 1e5 / 2^32 ≈ 23.
        XCTAssertLessThan(falsePositives, 100)
    }

    func testTheTableIsBetweenThreeEighthsAndThreeQuartersFull() {
        var set = KeyFingerprintSet()
        for (n, fingerprint) in randomFingerprints(300_000, seed: 5).enumerated() {
            set.insert(fingerprint)
            guard n >= 1000, n % 997 == 0 else { continue }
            let bytesPerKey = Double(set.bytes) / Double(set.count)
            XCTAssertLessThanOrEqual(bytesPerKey, 4 / 0.375 + 0.01, "after \(n + 1)")
            XCTAssertGreaterThanOrEqual(bytesPerKey, 4 / 0.75, "after \(n + 1)")
        }
    }

    func testAMinimumCountIsHeldWithoutGrowing() {
        var set = KeyFingerprintSet(minimumCount: 100_000)
        let capacity = set.capacity
        for fingerprint in randomFingerprints(100_000, seed: 6) { set.insert(fingerprint) }
        XCTAssertEqual(set.capacity, capacity)
        XCTAssertEqual(capacity, 262_144)
    }

    // MARK: Fingerprints of keys

    private let alice = KeyBuilder(tenant: TenantID(secret: Array("s".utf8), credential: Array("sk-alice".utf8)))
    private let bob = KeyBuilder(tenant: TenantID(secret: Array("s".utf8), credential: Array("sk-bob".utf8)))

    func testAKeysFingerprintIsThatOfItsSpelling() {
        var keys: [CacheKey] = []
        for builder in [alice, bob, KeyBuilder(tenant: .single)] {
            for n in 0..<50 {
                let content = builder.contentKey(content: Array("message \(n)".utf8), toolCalls: [])!
                keys.append(content)
                keys.append(builder.toolCallKey(id: Array("call_\(n)".utf8))!)
                keys.append(builder.toolCallKey(id: Array("call_\(n)".utf8), content: content.digest)!)
                keys.append(builder.contextKey(history: content.digest, content: content.digest))
            }
        }
        for key in keys {
            XCTAssertEqual(key.bytes.withUnsafeBytes { CacheKey.fingerprint(spelling: $0) }, key.fingerprint, key.hex)
        }
        XCTAssertEqual(Set(keys.map(\.fingerprint)).count, keys.count)
    }

    func testTheSameDigestUnderAnotherTenantOrKindHasAnotherFingerprint() {
        let digest = alice.contentKey(content: Array("shared".utf8), toolCalls: [])!.digest
        let fingerprints = [
            CacheKey(tenant: TenantID(secret: Array("s".utf8), credential: Array("sk-alice".utf8)), kind: .content, digest: digest),
            CacheKey(tenant: TenantID(secret: Array("s".utf8), credential: Array("sk-bob".utf8)), kind: .content, digest: digest),
            CacheKey(tenant: .single, kind: .content, digest: digest),
            CacheKey(tenant: .single, kind: .context, digest: digest),
            CacheKey(tenant: .single, kind: .toolCallContent, digest: digest),
        ].map(\.fingerprint)
        XCTAssertEqual(Set(fingerprints).count, fingerprints.count)
    }
}
