import Foundation
import XCTest
import ThinkbackTestSupport
import ThinkbackCore
@testable import ThinkbackRuntime

/// Prints what a lookup that misses the hot tier costs in each store, for a 200 KB value
/// (the restore scenario's size). A measurement, not a pass/fail check; run with
/// `swift test --filter StoreColdLookupBench` (figures are for the build it runs in).
final class StoreColdLookupBench: XCTestCase {
    private let keys = KeyBuilder(tenant: TenantID(secret: Array("bench".utf8), credential: Array("sk".utf8)))
    private let count = 100

    private func values() -> [StoredReasoning] {
        var generator = SeededGenerator(seed: 1)
        let now = SystemStoreClock().nowMilliseconds()
        return (0..<count).map { _ in
            StoredReasoning(text: (0..<25_000).flatMap { _ in withUnsafeBytes(of: generator.next()) { Array($0) } }, storedAtMilliseconds: now)
        }
    }

    private func key(_ n: Int) -> CacheKey { keys.toolCallKey(id: Array("call_\(n)".utf8))! }

    func testSQLiteColdLookup() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path + "/bench.sqlite3"
        let limits = StoreLimits(maxEntries: Int.max, maxBytes: 1 << 30, timeToLiveMilliseconds: 3_600_000)
        do {
            let store = try SQLiteStore(path: path, limits: limits)
            for (n, value) in values().enumerated() { store.insert(value, for: [key(n)]) }
            store.flush()
        }
        let store = try SQLiteStore(path: path, limits: limits) // fresh connection: SQLite's page cache empty
        var found = 0
        let start = DispatchTime.now().uptimeNanoseconds
        for n in 0..<count { store.lookup([key(n)]) { if $0[0] != nil { found += 1 } } }
        let perLookup = Double(DispatchTime.now().uptimeNanoseconds - start) / Double(count) / 1000
        XCTAssertEqual(found, count)
        print(String(format: "cold lookup, sqlite, 200 KB value: %.0f µs", perLookup))
    }

    func testRedisColdLookup() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let loop = try EventLoop()
        let store = RedisStore(options: .init(host: "127.0.0.1", port: server.port, timeoutMs: 1000),
                               limits: StoreLimits(maxEntries: Int.max, maxBytes: 1 << 30, timeToLiveMilliseconds: 3_600_000), loop: loop)
        runLoop(loop) { store.isConnected }
        for (n, value) in values().enumerated() { store.insert(value, for: [key(n)]) }
        runLoop(loop) { store.pendingReplies == 0 }
        var found = 0
        var answered = 0
        var total: UInt64 = 0
        for n in 0..<count {
            // Timed from the request to its completion (not to the helper's next poll).
            let start = DispatchTime.now().uptimeNanoseconds
            store.lookup([key(n)]) {
                total += DispatchTime.now().uptimeNanoseconds - start
                answered += 1
                if $0[0] != nil { found += 1 }
            }
            runLoop(loop) { answered == n + 1 }
        }
        let perLookup = Double(total) / Double(count) / 1000
        XCTAssertEqual(found, count)
        print(String(format: "cold lookup, redis (127.0.0.1), 200 KB value, one at a time: %.0f µs", perLookup))
    }
}
