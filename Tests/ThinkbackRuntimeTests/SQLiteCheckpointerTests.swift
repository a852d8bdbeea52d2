import Foundation
import XCTest
import ThinkbackCore
@testable import ThinkbackRuntime

/// The WAL is checkpointed on the checkpointer's thread, never inside the loop's commits, and
/// stays bounded.
final class SQLiteCheckpointerTests: XCTestCase {
    private var directory = TemporaryDirectory()
    private var path: String { directory.path + "/reasoning.sqlite3" }

    override func tearDown() { directory.remove() }

    private func walSize() -> Int {
        (try? FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int) ?? 0
    }

    func testCheckpointsRunOffTheLoopAndKeepTheWALBounded() throws {
        // A small store: its WAL limit is the minimum (256 KiB, 64 pages).
        let limits = StoreLimits(maxEntries: .max, maxBytes: 3 << 20, timeToLiveMilliseconds: 3_600_000)
        let clock = ManualStoreClock()
        let store = try SQLiteStore(path: path, limits: limits, clock: clock)
        let walLimit = SQLiteStore.walBytes(limits)
        let builder = KeyBuilder(tenant: TenantID(secret: Array("wal".utf8), credential: Array("k".utf8)))
        var largest = 0
        for n in 0 ..< 400 {
            let text = [UInt8](repeating: UInt8(ascii: "a") + UInt8(n % 26), count: 2000)
            store.insert(StoredReasoning(text: text, storedAtMilliseconds: clock.now), for: [builder.toolCallKey(id: Array("call_\(n)".utf8))!])
            store.flush()
            largest = max(largest, walSize())
        }
        // Wait for the thread to finish what was asked of it.
        let deadline = Date().addingTimeInterval(5)
        while store.checkpointer.checkpointsCompleted == 0, Date() < deadline { usleep(1000) }
        XCTAssertGreaterThan(store.checkpointer.checkpointsCompleted, 0, "the checkpointer's thread ran them")
        // ~1 MB went through the WAL. While writes never pause it may run ahead of the thread
        // (how far depends on the machine); once the thread has caught up, the next write
        // starts the WAL over and cuts it back to its limit.
        usleep(200_000)
        store.checkpointer.request()
        usleep(200_000)
        store.insert(StoredReasoning(text: [1], storedAtMilliseconds: clock.now), for: [builder.toolCallKey(id: Array("call_last".utf8))!])
        store.flush()
        XCTAssertLessThanOrEqual(walSize(), walLimit + 8 * 4096, "WAL back within its limit (largest was \(largest) bytes)")
        // The loop's connection never checkpoints by itself.
        XCTAssertEqual(try store.database.integer("PRAGMA wal_autocheckpoint"), 0)
        XCTAssertEqual(store.statistics.entries, 401)
    }
}
