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

    /// The nice values of this process's threads, from /proc.
    private func threadNiceValues() -> [Int] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return tasks.compactMap { tid in
            guard let stat = try? String(contentsOfFile: "/proc/self/task/\(tid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return nil }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 16 ? Int(fields[16]) : nil   // field 19 of the line: nice
        }
    }

    func testTheCheckpointerThreadRunsBelowTheLoop() throws {
        let before = threadNiceValues().filter { $0 == Int(SQLiteCheckpointer.niceness) }.count
        let store = try SQLiteStore(path: path, limits: StoreLimits(maxEntries: .max, maxBytes: 3 << 20,
                                                                    timeToLiveMilliseconds: 3_600_000),
                                    clock: ManualStoreClock())
        defer { withExtendedLifetime(store) {} }
        var after = before
        let deadline = Date().addingTimeInterval(5)
        while after == before, Date() < deadline {
            usleep(1000)
            after = threadNiceValues().filter { $0 == Int(SQLiteCheckpointer.niceness) }.count
        }
        XCTAssertEqual(after, before + 1, "one more thread at nice \(SQLiteCheckpointer.niceness): \(threadNiceValues())")
        XCTAssertGreaterThan(SQLiteCheckpointer.niceness, 0)
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
