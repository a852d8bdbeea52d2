import Foundation
import XCTest

/// Issue 5 through real processes: two thinkback processes share one redis-server.
final class StoreSharedRedisTests: XCTestCase {
    private var redis: RedisServer!
    private var sim: TestProcess!
    // Shared: instances sharing a store must share the tenant secret (tenant.key).
    private let stateDirectory = NSTemporaryDirectory() + "thinkback-redis-\(UUID().uuidString)"

    override func setUpWithError() throws {
        redis = try RedisServer()
        sim = try TestProcess("thinkback-sim", arguments: ["--listen", "127.0.0.1:0"])
    }

    override func tearDown() {
        sim?.stop()
        redis?.stop()
        try? FileManager.default.removeItem(atPath: stateDirectory)
    }

    private func startProxy(_ extra: [String] = []) throws -> TestProcess {
        try TestProcess("thinkback", arguments: [
            "--listen", "127.0.0.1:0", "--upstream", "http://127.0.0.1:\(sim.port)/v1", "--retry-base-ms", "20",
            "--state-dir", stateDirectory, "--store", "redis://127.0.0.1:\(redis.port)", "--redis-timeout-ms", "500",
        ] + extra)
    }

    private func ledger() throws -> [String: Int] {
        ((try RawHTTPClient.request(port: sim.port, "GET", "/sim/stats").json() ?? [:])["ledger"] as? [String: Int]) ?? [:]
    }

    private func cache(_ proxy: TestProcess) throws -> [String: Any] {
        ((try RawHTTPClient.request(port: proxy.port, "GET", "/").json() ?? [:])["cache"] as? [String: Any]) ?? [:]
    }

    func testCapturedThroughOneProcessRestoresExactlyThroughAnother() throws {
        let a = try startProxy()
        let b = try startProxy()
        defer { a.stop(); b.stop() }
        let next = try StoreRestartTests.firstTurn(a)
        // A's insert is pipelined right after the answer; give it a moment to land.
        XCTAssertTrue(ProxyFixture.eventually { ((try? self.cache(a)["entries"] as? Int) ?? 0) > 0 })
        try StoreRestartTests.secondTurn(b, next)
        let ledger = try ledger()
        XCTAssertEqual(ledger["exact"], 1, "\(ledger)")
        XCTAssertEqual(ledger["placeholder"] ?? 0, 0, "\(ledger)")
        XCTAssertEqual(try cache(b)["store"] as? String, "redis")
    }

    func testAnotherTenantCannotRestoreThroughTheSharedStore() throws {
        let a = try startProxy()
        let b = try startProxy()
        defer { a.stop(); b.stop() }
        let next = try StoreRestartTests.firstTurn(a)
        XCTAssertTrue(ProxyFixture.eventually { ((try? self.cache(a)["entries"] as? Int) ?? 0) > 0 })
        try StoreRestartTests.secondTurn(b, next, auth: [("Authorization", "Bearer test-key-B"), ("Content-Type", "application/json")])
        let ledger = try ledger()
        XCTAssertEqual(ledger["exact"] ?? 0, 0, "\(ledger)")
        XCTAssertEqual(ledger["foreign"] ?? 0, 0, "\(ledger)")
    }

    func testRequestsKeepFlowingWhileRedisIsDownAndSharingResumesWhenItIsBack() throws {
        // One worker in A: while Redis is away each worker's hot tier holds what it captured
        // itself, and the second turn must meet the first's worker.
        let a = try startProxy(["--workers", "1"])
        let b = try startProxy()
        defer { a.stop(); b.stop() }
        redis.kill()
        XCTAssertTrue(ProxyFixture.eventually { (try? self.cache(a)["store_state"] as? String) == "degraded" })
        // Captured and restored through A alone: the hot tier serves while Redis is away.
        let duringOutage = try StoreRestartTests.firstTurn(a)
        try StoreRestartTests.secondTurn(a, duringOutage)
        XCTAssertEqual(try ledger()["exact"], 1)
        XCTAssertGreaterThan(try cache(a)["store_failures"] as? Int ?? 0, 0)

        try redis.restart()
        XCTAssertTrue(ProxyFixture.eventually(timeout: 15) {
            (try? self.cache(a)["store_state"] as? String) == "ok" && (try? self.cache(b)["store_state"] as? String) == "ok"
        })
        let afterwards = try StoreRestartTests.firstTurn(a)
        XCTAssertTrue(ProxyFixture.eventually { ((try? self.cache(a)["entries"] as? Int) ?? 0) > 0 })
        try StoreRestartTests.secondTurn(b, afterwards)
        XCTAssertEqual(try ledger()["exact"], 2, "B restores what A captured after the outage")
    }
}
