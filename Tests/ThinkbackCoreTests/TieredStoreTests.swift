import XCTest
@testable import ThinkbackCore

/// The hot tier takes from the cold store only what can be spliced as it is.
final class TieredStoreTests: XCTestCase {
    /// A cold store that answers every lookup with the values it was given.
    final class FixedStore: ReasoningStore {
        var values: [CacheKey: StoredReasoning] = [:]
        func lookup(_ keys: [CacheKey], completion: @escaping ([StoredReasoning?]) -> Void) {
            completion(keys.map { values[$0] })
        }
        func insert(_ value: StoredReasoning, for keys: [CacheKey]) {
            for k in keys { values[k] = value }
        }
        var statistics: StoreStatistics { StoreStatistics() }
        func clear(tenant: TenantID?, completion: @escaping (Bool) -> Void) {
            values = values.filter { tenant != nil && $0.key.tenant != tenant }
            completion(true)
        }
    }

    func key(_ id: String) -> CacheKey {
        let tenant = TenantHasher(secret: Array(repeating: 7, count: 32)).tenant(forCredential: Array("sk-t".utf8))
        return KeyBuilder(tenant: tenant).toolCallKey(id: Array(id.utf8))!
    }

    func testAMalformedLiteralFromTheColdStoreIsAMissAndNotPromoted() {
        let cold = FixedStore()
        let good = StoredReasoning.reasoningContent(Array("思考 \"q\"\n".utf8), storedAtMilliseconds: SystemStoreClock().nowMilliseconds())
        var bad = good
        bad.text = Array(#""broken \q""#.utf8)
        cold.values[key("call_good")] = good
        cold.values[key("call_bad")] = bad
        let tiered = TieredStore(hot: MemoryStore(), cold: cold)
        var answer: [StoredReasoning?] = []
        tiered.lookup([key("call_good"), key("call_bad")]) { answer = $0 }
        XCTAssertEqual(answer, [good, nil])
        XCTAssertEqual(tiered.lookupNow(key("call_good")), good, "promoted")
        XCTAssertNil(tiered.lookupNow(key("call_bad")), "not promoted")
    }
}
