import XCTest
@testable import ThinkbackCore
import ThinkbackTestSupport

/// MemoryStore against the contract every store keeps (StoreConformance.swift).
final class StoreMemoryTests: XCTestCase {
    func testClearDropsOneTenantOrAll() {
        let store = MemoryStore()
        let a = KeyBuilder(tenant: TenantID(secret: [1], credential: Array("a".utf8)))
        let b = KeyBuilder(tenant: TenantID(secret: [1], credential: Array("b".utf8)))
        let v = StoredReasoning(text: [1], storedAtMilliseconds: SystemStoreClock().nowMilliseconds())
        store.insert(v, for: [a.toolCallKey(id: Array("x".utf8))!, a.toolCallKey(id: Array("y".utf8))!])
        store.insert(v, for: [b.toolCallKey(id: Array("x".utf8))!])
        var answered = 0
        store.clear(tenant: a.tenant) { ok in answered += ok ? 1 : 100 }
        XCTAssertEqual(answered, 1)
        XCTAssertNil(store.lookupNow(a.toolCallKey(id: Array("x".utf8))!))
        XCTAssertEqual(store.lookupNow(b.toolCallKey(id: Array("x".utf8))!), v)
        XCTAssertEqual(store.statistics.entries, 1)
        store.clear(tenant: nil) { _ in }
        XCTAssertEqual(store.statistics.entries, 0)
        XCTAssertEqual(store.statistics.keys, 0)
        XCTAssertNil(store.brokenInvariant())
    }

    private let conformance = StoreConformance { clock, limits in
        StoreUnderTest(store: MemoryStore(limits: limits, clock: clock))
    }

    func testLookupReturnsWhatWasInserted() { conformance.checkLookupReturnsWhatWasInserted() }
    func testEmptyReasoningIsAHit() { conformance.checkEmptyReasoningIsAHit() }
    func testOneValueUnderSeveralKeys() { conformance.checkOneValueUnderSeveralKeys() }
    func testBytesAreCountedOncePerValue() { conformance.checkBytesAreCountedOncePerValue() }
    func testDuplicateKeysInOneInsertCountOnce() { conformance.checkDuplicateKeysInOneInsertCountOnce() }
    func testInsertWithoutKeysStoresNothing() { conformance.checkInsertWithoutKeysStoresNothing() }
    func testReinsertingAKeyWithOtherReasoningMakesItAmbiguous() { conformance.checkReinsertingAKeyWithOtherReasoningMakesItAmbiguous() }
    func testReinsertingTheSameReasoningKeepsTheKey() { conformance.checkReinsertingTheSameReasoningKeepsTheKey() }
    func testAmbiguityTouchesOnlyTheConflictingKey() { conformance.checkAmbiguityTouchesOnlyTheConflictingKey() }
    func testAmbiguousKeyStaysAmbiguousUntilItExpires() { conformance.checkAmbiguousKeyStaysAmbiguousUntilItExpires() }
    func testAnExpiredValueDoesNotConflict() { conformance.checkAnExpiredValueDoesNotConflict() }
    func testWhenCommittedCallsBackOnceAfterTheInserts() { conformance.checkWhenCommittedCallsBackOnceAfterTheInserts() }
    func testExpiredValueIsAMiss() { conformance.checkExpiredValueIsAMiss() }
    func testTimeToLiveCountsFromStoredAt() { conformance.checkTimeToLiveCountsFromStoredAt() }
    func testAlreadyExpiredValueIsNotStored() { conformance.checkAlreadyExpiredValueIsNotStored() }
    func testRemoveExpiredDropsOnlyExpiredValues() { conformance.checkRemoveExpiredDropsOnlyExpiredValues() }
    func testEntryBound() { conformance.checkEntryBound() }
    func testByteBound() { conformance.checkByteBound() }
    func testOversizedValueIsRejected() { conformance.checkOversizedValueIsRejected() }
    func testEvictionDropsAllKeysOfAValue() { conformance.checkEvictionDropsAllKeysOfAValue() }
    func testLeastRecentlyUsedIsEvictedFirst() { conformance.checkLeastRecentlyUsedIsEvictedFirst() }
    func testHitByAnyKeyRefreshesTheValue() { conformance.checkHitByAnyKeyRefreshesTheValue() }
    func testTenantsNeverShareEntries() { conformance.checkTenantsNeverShareEntries() }
    func testStatisticsCountHitsMissesAndExpirations() { conformance.checkStatisticsCountHitsMissesAndExpirations() }
    func testLookupNowAgreesWithLookup() { conformance.checkLookupNowAgreesWithLookup() }
    func testSingleKeyConveniences() { conformance.checkSingleKeyConveniences() }
}
