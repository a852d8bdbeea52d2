import XCTest
import ThinkbackCore

// Deliberately uses only ThinkbackCore's public API (no @testable): the memory, SQLite and Redis
// store tests (ThinkbackCoreTests, ThinkbackRuntimeTests) run the very same checks from here.

/// A store under test, and how to let its asynchronous work finish.
public struct StoreUnderTest {
    public var store: any ReasoningStore
    /// Runs until the store's pending operations have completed (a turn of the event loop for
    /// Redis). Nothing to do for a store that answers synchronously.
    public var settle: () -> Void

    public init(store: any ReasoningStore, settle: @escaping () -> Void = {}) {
        self.store = store
        self.settle = settle
    }
}

/// The contract every `ReasoningStore` keeps (product.md §5). A store's test case calls each
/// check from a test method of its own; a store that cannot keep one (say, exact LRU on Redis)
/// leaves that method out and says why.
public struct StoreConformance {
    /// Makes a fresh, empty store reading time from `clock` and keeping `limits`.
    public typealias Factory = (_ clock: ManualStoreClock, _ limits: StoreLimits) -> StoreUnderTest

    let makeStore: Factory

    public init(_ makeStore: @escaping Factory) {
        self.makeStore = makeStore
    }

    // MARK: Fixtures

    private static let alice = KeyBuilder(tenant: TenantID(secret: Array("conformance".utf8), credential: Array("sk-alice".utf8)))
    private static let bob = KeyBuilder(tenant: TenantID(secret: Array("conformance".utf8), credential: Array("sk-bob".utf8)))
    private static let roomy = StoreLimits(maxEntries: 1000, maxBytes: 1 << 20, timeToLiveMilliseconds: 60_000)

    private func id(_ name: String, _ builder: KeyBuilder = alice) -> CacheKey {
        builder.toolCallKey(id: Array(name.utf8))!
    }

    private func content(_ text: String, _ builder: KeyBuilder = alice) -> CacheKey {
        builder.contentKey(content: Array(text.utf8), toolCalls: [(name: Array("read".utf8), arguments: Array("{}".utf8))])!
    }

    private func reasoning(_ text: String, at clock: ManualStoreClock) -> StoredReasoning {
        StoredReasoning(text: Array(text.utf8), storedAtMilliseconds: clock.now)
    }

    private func make(_ limits: StoreLimits = roomy) -> (StoreUnderTest, ManualStoreClock) {
        let clock = ManualStoreClock()
        return (makeStore(clock, limits), clock)
    }

    /// Inserts and lets the store finish.
    private func insert(_ sut: StoreUnderTest, _ value: StoredReasoning, _ keys: [CacheKey]) {
        sut.store.insert(value, for: keys)
        sut.settle()
    }

    /// Looks up and waits for the answer; fails unless the completion runs exactly once with
    /// one result per key.
    private func lookup(
        _ sut: StoreUnderTest, _ keys: [CacheKey], file: StaticString = #filePath, line: UInt = #line
    ) -> [StoredReasoning?] {
        var answers: [[StoredReasoning?]] = []
        sut.store.lookup(keys) { answers.append($0) }
        sut.settle()
        XCTAssertEqual(answers.count, 1, "lookup must complete exactly once", file: file, line: line)
        guard let results = answers.first else { return keys.map { _ in nil } }
        XCTAssertEqual(results.count, keys.count, "one result per key", file: file, line: line)
        return results
    }

    private func found(_ sut: StoreUnderTest, _ key: CacheKey, file: StaticString = #filePath, line: UInt = #line) -> StoredReasoning? {
        lookup(sut, [key], file: file, line: line).first ?? nil
    }

    // MARK: Checks

    /// What goes in comes out byte for byte, in key order; unknown keys miss.
    public func checkLookupReturnsWhatWasInserted() {
        let (sut, clock) = make()
        let plain = reasoning("Let me read the file first.", at: clock)
        let binary = StoredReasoning(text: [0x00, 0xff, 0xe5, 0x8c, 0x97, 0x0a, 0x22], format: .anthropicThinking, storedAtMilliseconds: clock.now - 5)
        insert(sut, plain, [id("call_1")])
        insert(sut, binary, [id("call_2")])

        let results = lookup(sut, [id("call_2"), id("call_unknown"), id("call_1")])
        XCTAssertEqual(results[0], binary)
        XCTAssertNil(results[1])
        XCTAssertEqual(results[2], plain)
        XCTAssertEqual(lookup(sut, []).count, 0)
    }

    /// Empty reasoning is a value like any other: a hit with empty text, not a miss.
    public func checkEmptyReasoningIsAHit() {
        let (sut, clock) = make()
        insert(sut, reasoning("", at: clock), [id("call_1")])
        XCTAssertEqual(found(sut, id("call_1"))?.text, [])
    }

    /// One value under several keys is found by each; stored once.
    public func checkOneValueUnderSeveralKeys() {
        let (sut, clock) = make()
        let value = reasoning("two calls and some text", at: clock)
        insert(sut, value, [id("call_a"), id("call_b"), content("Reading.")])
        XCTAssertEqual(lookup(sut, [id("call_a"), id("call_b"), content("Reading.")]), [value, value, value])
        XCTAssertEqual(sut.store.statistics.entries, 1)
        XCTAssertEqual(sut.store.statistics.keys, 3)
    }

    /// The byte count covers the text once, whatever the number of keys.
    public func checkBytesAreCountedOncePerValue() {
        let (sut, clock) = make()
        let value = StoredReasoning(text: [UInt8](repeating: 0x61, count: 5000), storedAtMilliseconds: clock.now)
        insert(sut, value, [id("call_a"), id("call_b"), id("call_c")])
        XCTAssertEqual(sut.store.statistics.bytes, value.accountedBytes(keyCount: 3))
    }

    /// The same key twice in one insert counts as one key.
    public func checkDuplicateKeysInOneInsertCountOnce() {
        let (sut, clock) = make()
        let value = reasoning("r", at: clock)
        insert(sut, value, [id("call_a"), id("call_a"), id("calla")])
        XCTAssertEqual(found(sut, id("call_a")), value)
        XCTAssertEqual(sut.store.statistics.keys, 1)
        XCTAssertEqual(sut.store.statistics.bytes, value.accountedBytes(keyCount: 1))
    }

    /// An insert without keys stores nothing.
    public func checkInsertWithoutKeysStoresNothing() {
        let (sut, clock) = make()
        insert(sut, reasoning("r", at: clock), [])
        XCTAssertEqual(sut.store.statistics.entries, 0)
        XCTAssertEqual(sut.store.statistics.bytes, 0)
    }

    /// A key another capture holds with other reasoning becomes ambiguous: a lookup answers
    /// the marker, never either value (product.md §1).
    public func checkReinsertingAKeyWithOtherReasoningMakesItAmbiguous() {
        let (sut, clock) = make()
        insert(sut, reasoning("first", at: clock), [id("call_1")])
        insert(sut, reasoning("second", at: clock), [id("call_1")])
        let answer = found(sut, id("call_1"))
        XCTAssertEqual(answer?.isAmbiguous, true, "\(String(describing: answer))")
        XCTAssertEqual(answer?.text, [])
        XCTAssertEqual(sut.store.statistics.ambiguous, 1)
    }

    /// A capture that restores like the one a key holds keeps the key usable.
    public func checkReinsertingTheSameReasoningKeepsTheKey() {
        let (sut, clock) = make()
        insert(sut, reasoning("same", at: clock), [id("call_1")])
        clock.advance(by: 10)
        let again = reasoning("same", at: clock)
        insert(sut, again, [id("call_1")])
        XCTAssertEqual(found(sut, id("call_1")), again)
        XCTAssertEqual(sut.store.statistics.ambiguous, 0)
    }

    /// Only the conflicting key turns ambiguous: each value keeps its other keys.
    public func checkAmbiguityTouchesOnlyTheConflictingKey() {
        let (sut, clock) = make()
        let old = reasoning("old", at: clock)
        let new = reasoning("new", at: clock)
        insert(sut, old, [id("call_1"), content("shared text")])
        insert(sut, new, [id("call_2"), content("shared text")])
        let results = lookup(sut, [id("call_1"), id("call_2"), content("shared text")])
        XCTAssertEqual(results[0], old)
        XCTAssertEqual(results[1], new)
        XCTAssertEqual(results[2]?.isAmbiguous, true)
    }

    /// Once ambiguous, a key stays so until the marker expires, whatever comes next — even one
    /// of the values it was claimed for.
    public func checkAmbiguousKeyStaysAmbiguousUntilItExpires() {
        let (sut, clock) = make(StoreLimits(maxEntries: 100, maxBytes: 1 << 20, timeToLiveMilliseconds: 1000))
        let first = reasoning("first", at: clock)
        insert(sut, first, [id("call_1")])
        insert(sut, reasoning("second", at: clock), [id("call_1")])
        clock.advance(by: 100)
        insert(sut, reasoning("first", at: clock), [id("call_1")])
        XCTAssertEqual(found(sut, id("call_1"))?.isAmbiguous, true)
        insert(sut, .ambiguityMarker(storedAtMilliseconds: clock.now), [id("call_9")])
        XCTAssertEqual(found(sut, id("call_9"))?.isAmbiguous, true)
        clock.advance(by: 1000)
        XCTAssertNil(found(sut, id("call_1")), "the marker expires like a value")
        let later = reasoning("later", at: clock)
        insert(sut, later, [id("call_1")])
        XCTAssertEqual(found(sut, id("call_1")), later)
    }

    /// An expired value never makes a key ambiguous: the key is free again.
    public func checkAnExpiredValueDoesNotConflict() {
        let (sut, clock) = make(StoreLimits(maxEntries: 100, maxBytes: 1 << 20, timeToLiveMilliseconds: 1000))
        insert(sut, reasoning("old", at: clock), [id("call_1")])
        clock.advance(by: 1000)
        let fresh = reasoning("fresh", at: clock)
        insert(sut, fresh, [id("call_1")])
        XCTAssertEqual(found(sut, id("call_1")), fresh)
    }

    /// `whenCommitted` calls back exactly once, with `true` for a store that is up, after
    /// which the inserts made before it are found.
    public func checkWhenCommittedCallsBackOnceAfterTheInserts() {
        let (sut, clock) = make()
        var calls: [Bool] = []
        sut.store.whenCommitted { calls.append($0) }
        sut.settle()
        XCTAssertEqual(calls, [true], "nothing pending: committed")
        let value = reasoning("durable", at: clock)
        sut.store.insert(value, for: [id("call_1")])
        sut.store.whenCommitted { calls.append($0) }
        sut.settle()
        XCTAssertEqual(calls, [true, true])
        XCTAssertEqual(found(sut, id("call_1")), value)
    }

    /// A value is served until `storedAt + ttl` and is a miss from then on.
    public func checkExpiredValueIsAMiss() {
        let (sut, clock) = make(StoreLimits(maxEntries: 10, maxBytes: 1 << 20, timeToLiveMilliseconds: 1000))
        let value = reasoning("r", at: clock)
        insert(sut, value, [id("call_1")])
        clock.advance(by: 999)
        XCTAssertEqual(found(sut, id("call_1")), value)
        clock.advance(by: 1)
        XCTAssertNil(found(sut, id("call_1")))
        XCTAssertNil(sut.store.lookupNow(id("call_1")))
    }

    /// The time-to-live runs from the value's own time, not from the insert.
    public func checkTimeToLiveCountsFromStoredAt() {
        let (sut, clock) = make(StoreLimits(maxEntries: 10, maxBytes: 1 << 20, timeToLiveMilliseconds: 1000))
        let captured600msAgo = StoredReasoning(text: Array("r".utf8), storedAtMilliseconds: clock.now - 600)
        insert(sut, captured600msAgo, [id("call_1")])
        clock.advance(by: 399)
        XCTAssertEqual(found(sut, id("call_1")), captured600msAgo)
        clock.advance(by: 1)
        XCTAssertNil(found(sut, id("call_1")))
    }

    /// A value whose time-to-live has already run out is not stored.
    public func checkAlreadyExpiredValueIsNotStored() {
        let (sut, clock) = make(StoreLimits(maxEntries: 10, maxBytes: 1 << 20, timeToLiveMilliseconds: 1000))
        insert(sut, StoredReasoning(text: Array("r".utf8), storedAtMilliseconds: clock.now - 1000), [id("call_1")])
        XCTAssertNil(found(sut, id("call_1")))
        XCTAssertEqual(sut.store.statistics.entries, 0)
    }

    /// `removeExpired()` drops what has expired and keeps the rest.
    public func checkRemoveExpiredDropsOnlyExpiredValues() {
        let (sut, clock) = make(StoreLimits(maxEntries: 10, maxBytes: 1 << 20, timeToLiveMilliseconds: 1000))
        insert(sut, reasoning("early", at: clock), [id("call_1"), content("early")])
        clock.advance(by: 500)
        let late = reasoning("late", at: clock)
        insert(sut, late, [id("call_2")])
        clock.advance(by: 500)
        sut.store.removeExpired()
        sut.settle()
        XCTAssertEqual(sut.store.statistics.entries, 1)
        XCTAssertEqual(sut.store.statistics.keys, 1)
        XCTAssertEqual(sut.store.statistics.expirations, 1)
        XCTAssertEqual(lookup(sut, [id("call_1"), id("call_2")]), [nil, late])
        clock.advance(by: 500)
        sut.store.removeExpired()
        sut.settle()
        XCTAssertEqual(sut.store.statistics.entries, 0)
        XCTAssertEqual(sut.store.statistics.bytes, 0)
    }

    /// Past the entry bound, the oldest values go first.
    public func checkEntryBound() {
        let (sut, clock) = make(StoreLimits(maxEntries: 3, maxBytes: 1 << 20, timeToLiveMilliseconds: 60_000))
        for n in 0..<10 { insert(sut, reasoning("r\(n)", at: clock), [id("call_\(n)")]) }
        XCTAssertEqual(sut.store.statistics.entries, 3)
        XCTAssertEqual(sut.store.statistics.evictions, 7)
        let results = lookup(sut, (0..<10).map { id("call_\($0)") })
        XCTAssertEqual(results.map { $0 != nil }, [false, false, false, false, false, false, false, true, true, true])
    }

    /// Past the byte bound, the oldest values go first; the bytes never exceed the bound.
    public func checkByteBound() {
        let text = [UInt8](repeating: 0x62, count: 1000)
        let perValue = StoredReasoning(text: text, storedAtMilliseconds: 0).accountedBytes(keyCount: 1)
        let (sut, clock) = make(StoreLimits(maxEntries: 1000, maxBytes: 4 * perValue + perValue / 2, timeToLiveMilliseconds: 60_000))
        for n in 0..<10 {
            insert(sut, StoredReasoning(text: text, storedAtMilliseconds: clock.now), [id("call_\(n)")])
            XCTAssertLessThanOrEqual(sut.store.statistics.bytes, 4 * perValue + perValue / 2)
        }
        XCTAssertEqual(sut.store.statistics.entries, 4)
        XCTAssertEqual(sut.store.statistics.evictions, 6)
        let results = lookup(sut, (0..<10).map { id("call_\($0)") })
        XCTAssertEqual(results.map { $0 != nil }, [false, false, false, false, false, false, true, true, true, true])
    }

    /// A value larger than the byte bound alone is refused and disturbs nothing.
    public func checkOversizedValueIsRejected() {
        let (sut, clock) = make(StoreLimits(maxEntries: 10, maxBytes: 2000, timeToLiveMilliseconds: 60_000))
        let small = reasoning("small", at: clock)
        insert(sut, small, [id("call_1")])
        insert(sut, StoredReasoning(text: [UInt8](repeating: 0, count: 2000), storedAtMilliseconds: clock.now), [id("call_1"), id("call_2")])
        XCTAssertEqual(lookup(sut, [id("call_1"), id("call_2")]), [small, nil])
        XCTAssertEqual(sut.store.statistics.rejections, 1)
        XCTAssertEqual(sut.store.statistics.evictions, 0)
    }

    /// Evicting a value drops every key it was stored under.
    public func checkEvictionDropsAllKeysOfAValue() {
        let (sut, clock) = make(StoreLimits(maxEntries: 1, maxBytes: 1 << 20, timeToLiveMilliseconds: 60_000))
        insert(sut, reasoning("old", at: clock), [id("call_1"), id("call_2"), content("old")])
        let new = reasoning("new", at: clock)
        insert(sut, new, [id("call_3")])
        XCTAssertEqual(lookup(sut, [id("call_1"), id("call_2"), content("old"), id("call_3")]), [nil, nil, nil, new])
        XCTAssertEqual(sut.store.statistics.keys, 1)
        XCTAssertEqual(sut.store.statistics.bytes, new.accountedBytes(keyCount: 1))
    }

    /// The least recently used value is evicted first; a hit makes a value recent.
    public func checkLeastRecentlyUsedIsEvictedFirst() {
        let (sut, clock) = make(StoreLimits(maxEntries: 3, maxBytes: 1 << 20, timeToLiveMilliseconds: 60_000))
        insert(sut, reasoning("a", at: clock), [id("call_a")])
        insert(sut, reasoning("b", at: clock), [id("call_b")])
        insert(sut, reasoning("c", at: clock), [id("call_c")])
        _ = found(sut, id("call_a"))
        insert(sut, reasoning("d", at: clock), [id("call_d")])
        XCTAssertNil(found(sut, id("call_b")))
        XCTAssertEqual(lookup(sut, [id("call_a"), id("call_c"), id("call_d")]).map { $0?.text }, [Array("a".utf8), Array("c".utf8), Array("d".utf8)])
    }

    /// A hit through any of a value's keys makes the value recent.
    public func checkHitByAnyKeyRefreshesTheValue() {
        let (sut, clock) = make(StoreLimits(maxEntries: 2, maxBytes: 1 << 20, timeToLiveMilliseconds: 60_000))
        insert(sut, reasoning("a", at: clock), [id("call_a"), content("a")])
        insert(sut, reasoning("b", at: clock), [id("call_b")])
        _ = found(sut, content("a"))
        insert(sut, reasoning("c", at: clock), [id("call_c")])
        XCTAssertEqual(lookup(sut, [id("call_a"), id("call_b"), id("call_c")]).map { $0 != nil }, [true, false, true])
    }

    /// The same id or content under two tenants never reaches the other tenant's value.
    public func checkTenantsNeverShareEntries() {
        let (sut, clock) = make()
        let alices = reasoning("alice's thoughts", at: clock)
        insert(sut, alices, [id("call_1", Self.alice), content("same text", Self.alice)])
        XCTAssertEqual(lookup(sut, [id("call_1", Self.bob), content("same text", Self.bob)]), [nil, nil])

        let bobs = reasoning("bob's thoughts", at: clock)
        insert(sut, bobs, [id("call_1", Self.bob), content("same text", Self.bob)])
        XCTAssertEqual(lookup(sut, [id("call_1", Self.alice), content("same text", Self.alice)]), [alices, alices])
        XCTAssertEqual(lookup(sut, [id("call_1", Self.bob), content("same text", Self.bob)]), [bobs, bobs])
        XCTAssertEqual(sut.store.statistics.entries, 2)
    }

    /// Hits and misses count keys looked up; an expired value counts a miss and an expiration.
    public func checkStatisticsCountHitsMissesAndExpirations() {
        let (sut, clock) = make(StoreLimits(maxEntries: 10, maxBytes: 1 << 20, timeToLiveMilliseconds: 1000))
        insert(sut, reasoning("r", at: clock), [id("call_1")])
        _ = lookup(sut, [id("call_1"), id("call_missing"), id("call_1")])
        XCTAssertEqual(sut.store.statistics.hits, 2)
        XCTAssertEqual(sut.store.statistics.misses, 1)
        clock.advance(by: 1000)
        XCTAssertNil(found(sut, id("call_1")))
        XCTAssertEqual(sut.store.statistics.misses, 2)
        XCTAssertEqual(sut.store.statistics.expirations, 1)
        XCTAssertEqual(sut.store.statistics.entries, 0)
    }

    /// `lookupNow` answers nil or what `lookup` answers, never something else.
    public func checkLookupNowAgreesWithLookup() {
        let (sut, clock) = make()
        let value = reasoning("r", at: clock)
        insert(sut, value, [id("call_1")])
        if let now = sut.store.lookupNow(id("call_1")) { XCTAssertEqual(now, value) }
        XCTAssertNil(sut.store.lookupNow(id("call_2")))
        XCTAssertNil(sut.store.lookupNow(id("call_1", Self.bob)))
    }

    /// The single-key conveniences behave like their list forms.
    public func checkSingleKeyConveniences() {
        let (sut, clock) = make()
        let value = reasoning("r", at: clock)
        sut.store.insert(value, for: id("call_1"))
        sut.settle()
        var answers: [StoredReasoning?] = []
        sut.store.lookup(id("call_1")) { answers.append($0) }
        sut.store.lookup(id("call_2")) { answers.append($0) }
        sut.settle()
        XCTAssertEqual(answers, [value, nil])
    }
}
