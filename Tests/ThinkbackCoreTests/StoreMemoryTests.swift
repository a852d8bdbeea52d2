import XCTest
import ThinkbackCore
import ThinkbackTestSupport

/// MemoryStore against the contract every store keeps (StoreConformance.swift).
final class StoreMemoryTests: XCTestCase {
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
