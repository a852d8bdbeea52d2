import Foundation
import XCTest
import ThinkbackTestSupport
import ThinkbackCore
@testable import ThinkbackRuntime

/// Prints what a request's lookups cost in the SQLite store when the file does not hold its
/// keys (issue 18: a history whose tool-call messages this process never saw), what the key
/// filter costs to load, catch up and rebuild, and its size. A measurement,
/// not a pass/fail check; run in release for figures worth quoting:
/// `swift build -c release --build-tests -Xswiftc -enable-testing` then
/// `THINKBACK_BENCH=1 swift test -c release --skip-build --filter StoreMissBench`.
final class StoreMissBench: XCTestCase {
    private let keys = KeyBuilder(tenant: TenantID(secret: Array("bench".utf8), credential: Array("sk".utf8)))

    private func key(_ n: Int) -> CacheKey { keys.toolCallKey(id: Array("call_\(n)".utf8))! }

    /// A file of `entries` values with three keys each; then 60 keys it does not hold (20
    /// messages × 3 keys) looked up in one call, as a request does, `rounds` times.
    private func measureMisses(entries: Int, rounds: Int) throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path + "/bench.sqlite3"
        let limits = StoreLimits(maxEntries: Int.max, maxBytes: 1 << 30, timeToLiveMilliseconds: 3_600_000)
        let now = SystemStoreClock().nowMilliseconds()
        do {
            let store = try SQLiteStore(path: path, limits: limits, options: .init(batchEntries: Int.max))
            for n in 0..<entries {
                store.insert(StoredReasoning(text: Array(repeating: UInt8(n & 0x7f), count: 200), storedAtMilliseconds: now),
                             for: [key(3 * n), key(3 * n + 1), key(3 * n + 2)])
            }
            store.flush()
        }
        let opened = DispatchTime.now().uptimeNanoseconds
        let store = try SQLiteStore(path: path, limits: limits)
        let openMs = Double(DispatchTime.now().uptimeNanoseconds - opened) / 1e6
        let absent = (0..<60).map { key(10_000_000 + $0) }
        var found = 0
        for _ in 0..<10 { store.lookup(absent) { found += $0.compactMap { $0 }.count } } // warm-up
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<rounds { store.lookup(absent) { found += $0.compactMap { $0 }.count } }
        let perRequest = Double(DispatchTime.now().uptimeNanoseconds - start) / Double(rounds) / 1000
        XCTAssertEqual(found, 0)
        var hit: StoredReasoning?
        let hitStart = DispatchTime.now().uptimeNanoseconds
        for n in 0..<rounds { store.lookup([key(3 * (n % entries))]) { hit = $0[0] } }
        let perHit = Double(DispatchTime.now().uptimeNanoseconds - hitStart) / Double(rounds) / 1000
        XCTAssertNotNil(hit)
        print(String(format: "sqlite, %d entries (%d keys): open %.1f ms; 60 absent keys in one lookup %.2f µs (%.3f µs/key); one present key %.2f µs",
                     entries, 3 * entries, openMs, perRequest, perRequest / 60, perHit))
        print("sqlite, \(entries) entries: key filter \(store.filterStatistics.keys) keys, \(store.filterStatistics.bytes) bytes")

        // Another process commits a value (three keys) before each request: its lookups catch up.
        let other = try SQLiteStore(path: path, limits: limits)
        var caughtUp: UInt64 = 0
        for n in 0..<200 {
            other.insert(StoredReasoning(text: [1, 2, 3], storedAtMilliseconds: now), for: [key(20_000_000 + 3 * n), key(20_000_001 + 3 * n), key(20_000_002 + 3 * n)])
            other.flush()
            let start = DispatchTime.now().uptimeNanoseconds
            store.lookup(absent) { found += $0.compactMap { $0 }.count }
            caughtUp += DispatchTime.now().uptimeNanoseconds - start
        }
        XCTAssertEqual(found, 0)
        print(String(format: "sqlite, %d entries: 60 absent keys in one lookup after another connection's commit %.2f µs",
                     entries, Double(caughtUp) / 200 / 1000))

        // A rebuild, slice by slice (the loop would run one per turn).
        store.filterRebuild = SQLiteFilterRebuild(next: KeyFingerprintSet(minimumCount: store.statistics.keys))
        var slices = 0
        var longest: UInt64 = 0
        let rebuildStart = DispatchTime.now().uptimeNanoseconds
        while store.filterRebuild != nil {
            let sliceStart = DispatchTime.now().uptimeNanoseconds
            store.rebuildFilterSlice()
            longest = max(longest, DispatchTime.now().uptimeNanoseconds - sliceStart)
            slices += 1
        }
        print(String(format: "sqlite, %d entries: filter rebuilt in %d slices, %.1f ms in all, longest slice %.2f ms",
                     entries, slices, Double(DispatchTime.now().uptimeNanoseconds - rebuildStart) / 1e6, Double(longest) / 1e6))
    }

    func testSQLiteMissesSmallFile() throws { try measureMisses(entries: 1_000, rounds: 2_000) }

    /// A million keys: ~20 s of filling in a debug build, so only when asked for
    /// (`THINKBACK_BENCH=1 swift test -c release --skip-build --filter StoreMissBench`).
    func testSQLiteMissesLargeFile() throws {
        try XCTSkipUnless(ProcessInfo.processInfo.environment["THINKBACK_BENCH"] != nil, "set THINKBACK_BENCH=1 to fill a file of a million keys")
        try measureMisses(entries: 333_334, rounds: 2_000)
    }
}
