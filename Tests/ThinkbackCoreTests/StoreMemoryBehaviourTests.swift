import ThinkbackTestSupport
import XCTest
@testable import ThinkbackCore

/// What MemoryStore does beyond the shared contract: exact LRU against a reference model,
/// bounds under load, slot reuse, and the shape of its expiry sweep.
final class StoreMemoryBehaviourTests: XCTestCase {
    private let tenant = TenantID(secret: Array("memory".utf8), credential: Array("sk-test".utf8))

    /// Keys without hashing: the store only needs distinct, well-spread digests.
    private func key(_ n: UInt64) -> CacheKey {
        var seed = SeededGenerator(seed: n)
        var bytes: [UInt8] = []
        for _ in 0..<4 { withUnsafeBytes(of: seed.next()) { bytes.append(contentsOf: $0) } }
        return CacheKey(tenant: tenant, kind: .toolCall, digest: SHA256Digest(bytes: bytes)!)
    }

    private func assertConsistent(_ store: MemoryStore, file: StaticString = #filePath, line: UInt = #line) {
        if let broken = store.brokenInvariant() { XCTFail(broken, file: file, line: line) }
    }

    func testLookupCompletesBeforeReturning() {
        let clock = ManualStoreClock()
        let store = MemoryStore(clock: clock)
        store.insert(StoredReasoning(text: [1], storedAtMilliseconds: clock.now), for: [key(1)])
        var answered = false
        store.lookup([key(1)]) { _ in answered = true }
        XCTAssertTrue(answered)
    }

    func testBehavesLikeAReferenceLRUUnderRandomOperations() {
        var random = SeededGenerator(seed: 42)
        let clock = ManualStoreClock()
        let perSmallValue = StoredReasoning(text: [], storedAtMilliseconds: 0).accountedBytes(keyCount: 1)
        let limits = StoreLimits(maxEntries: 18, maxBytes: 30 * (perSmallValue + 150), timeToLiveMilliseconds: 1 << 40)
        let store = MemoryStore(limits: limits, clock: clock)
        var model = ReferenceLRU(limits: limits)

        for step in 0..<20_000 {
            if random.next() % 3 == 0 {
                let keys = (0..<(1 + random.next() % 4)).map { _ in key(random.next() % 150) }
                let text = [UInt8](repeating: UInt8(step & 0xff), count: Int(random.next() % 300))
                let value = StoredReasoning(text: text, storedAtMilliseconds: clock.now)
                store.insert(value, for: keys)
                model.insert(value, for: keys)
            } else {
                let probe = key(random.next() % 150)
                XCTAssertEqual(store.lookupNow(probe), model.lookup(probe), "step \(step)")
            }
            XCTAssertEqual(store.statistics.entries, model.entries.count, "step \(step)")
            XCTAssertEqual(store.statistics.bytes, model.bytes, "step \(step)")
            if step % 500 == 0 { assertConsistent(store) }
        }
        assertConsistent(store)
        XCTAssertGreaterThan(store.statistics.evictions, 0)
        XCTAssertGreaterThan(store.statistics.hits, 0)
        XCTAssertGreaterThan(store.statistics.ambiguous, 0)
    }

    func testHundredThousandInsertsStayWithinBounds() {
        var random = SeededGenerator(seed: 7)
        let clock = ManualStoreClock()
        let limits = StoreLimits(maxEntries: 1000, maxBytes: 400_000, timeToLiveMilliseconds: 50_000)
        let store = MemoryStore(limits: limits, clock: clock)
        var next: UInt64 = 0

        for step in 0..<100_000 {
            var keys: [CacheKey] = []
            for _ in 0..<(1 + random.next() % 3) {
                // Mostly fresh ids, sometimes a recent one again (a replacement).
                if random.next() % 10 == 0, next > 10 {
                    keys.append(key(next - 1 - random.next() % 10))
                } else {
                    keys.append(key(next))
                    next += 1
                }
            }
            let text = [UInt8](repeating: 0x78, count: Int(random.next() % 2000))
            store.insert(StoredReasoning(text: text, storedAtMilliseconds: clock.now), for: keys)
            if step % 4 == 0 { _ = store.lookupNow(key(next - 1 - random.next() % min(next, 3000))) }
            clock.advance(by: 1)
            if step % 1000 == 0 { store.removeExpired() }

            XCTAssertLessThanOrEqual(store.statistics.entries, limits.maxEntries)
            XCTAssertLessThanOrEqual(store.statistics.bytes, limits.maxBytes)
            if step % 10_000 == 0 { assertConsistent(store) }
        }
        assertConsistent(store)
        XCTAssertEqual(store.index.count, store.statistics.keys)
        XCTAssertLessThanOrEqual(store.slots.storage.count, limits.maxEntries + 1, "freed slots are reused")
    }

    func testFreedSlotsAreReused() {
        let clock = ManualStoreClock()
        let store = MemoryStore(limits: StoreLimits(maxEntries: 10), clock: clock)
        for n in 0..<10_000 {
            store.insert(StoredReasoning(text: [1, 2, 3], storedAtMilliseconds: clock.now), for: [key(UInt64(n))])
        }
        XCTAssertEqual(store.statistics.entries, 10)
        XCTAssertEqual(store.statistics.evictions, 9_990)
        XCTAssertLessThanOrEqual(store.slots.storage.count, 11)
        assertConsistent(store)
    }

    func testEvictionFollowsRecencyNotInsertionOrder() {
        let clock = ManualStoreClock()
        let store = MemoryStore(limits: StoreLimits(maxEntries: 4), clock: clock)
        for n in 0..<4 { store.insert(StoredReasoning(text: [UInt8(n)], storedAtMilliseconds: clock.now), for: [key(UInt64(n))]) }
        for n: UInt64 in [2, 0, 3, 1] { _ = store.lookupNow(key(n)) }   // recency now 1, 3, 0, 2
        var evicted: [UInt64] = []
        for n: UInt64 in 10..<14 {
            store.insert(StoredReasoning(text: [], storedAtMilliseconds: clock.now), for: [key(n)])
            for old: UInt64 in 0..<4 where !evicted.contains(old) && store.index[key(old)] == nil { evicted.append(old) }
        }
        XCTAssertEqual(evicted, [2, 0, 3, 1])
    }

    func testRemoveExpiredSweepsInInsertionOrderAndLookupCatchesTheRest() {
        let clock = ManualStoreClock()
        let store = MemoryStore(limits: StoreLimits(timeToLiveMilliseconds: 1000), clock: clock)
        store.insert(StoredReasoning(text: [1], storedAtMilliseconds: clock.now), for: [key(1)])
        // Copied from another store with its original age: expires before the first one.
        store.insert(StoredReasoning(text: [2], storedAtMilliseconds: clock.now - 900), for: [key(2)])
        clock.advance(by: 100)
        store.removeExpired()
        XCTAssertEqual(store.statistics.entries, 2, "the sweep stops at the first live insertion")
        XCTAssertNil(store.lookupNow(key(2)))
        XCTAssertEqual(store.statistics.entries, 1)
        XCTAssertEqual(store.statistics.expirations, 1)
        clock.advance(by: 900)
        store.removeExpired()
        XCTAssertEqual(store.statistics.entries, 0)
        assertConsistent(store)
    }

    func testTimeToLiveNearTheEndOfTimeDoesNotOverflow() {
        let clock = ManualStoreClock(now: UInt64.max - 10)
        let store = MemoryStore(limits: StoreLimits(timeToLiveMilliseconds: 1000), clock: clock)
        store.insert(StoredReasoning(text: [1], storedAtMilliseconds: clock.now), for: [key(1)])
        XCTAssertNotNil(store.lookupNow(key(1)))
    }
}

/// The obvious, slow LRU the store must agree with: entries in recency order, most recent first.
private struct ReferenceLRU {
    let limits: StoreLimits
    var entries: [(keys: [CacheKey], value: StoredReasoning)] = []

    var bytes: Int { entries.reduce(0) { $0 + $1.value.accountedBytes(keyCount: $1.keys.count) } }

    /// A key held by another value (or already ambiguous) turns ambiguous: the marker is
    /// stored under those keys after the value is stored under the others.
    mutating func insert(_ value: StoredReasoning, for keys: [CacheKey]) {
        var unique: [CacheKey] = []
        for key in keys where !unique.contains(key) { unique.append(key) }
        guard !unique.isEmpty, value.accountedBytes(keyCount: unique.count) <= limits.maxBytes else { return }
        let conflicting = unique.filter { key in
            entries.first(where: { $0.keys.contains(key) }).map { !$0.value.restoresLike(value) } ?? false
        }
        let claimed = unique.filter { !conflicting.contains($0) }
        if !claimed.isEmpty { put(value, claimed) }
        if !conflicting.isEmpty { put(.ambiguityMarker(storedAtMilliseconds: value.storedAtMilliseconds), conflicting) }
    }

    private mutating func put(_ value: StoredReasoning, _ keys: [CacheKey]) {
        for i in entries.indices { entries[i].keys.removeAll { keys.contains($0) } }
        entries.removeAll { $0.keys.isEmpty }
        entries.insert((keys, value), at: 0)
        while entries.count > limits.maxEntries || bytes > limits.maxBytes { entries.removeLast() }
    }

    mutating func lookup(_ key: CacheKey) -> StoredReasoning? {
        guard let i = entries.firstIndex(where: { $0.keys.contains(key) }) else { return nil }
        let entry = entries.remove(at: i)
        entries.insert(entry, at: 0)
        return entry.value
    }
}
