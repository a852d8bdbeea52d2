import Foundation
import XCTest

/// Processes started together on one fresh state directory: one tenant secret, one SQLite
/// file they all open and share.
final class StoreSharedSQLiteTests: XCTestCase {
    private var sim: TestProcess!
    private let stateDirectory = NSTemporaryDirectory() + "thinkback-shared-\(UUID().uuidString)"

    override func setUpWithError() throws {
        sim = try TestProcess("thinkback-sim", arguments: ["--listen", "127.0.0.1:0"])
    }

    override func tearDown() {
        sim?.stop()
        try? FileManager.default.removeItem(atPath: stateDirectory)
    }

    private func arguments(_ extra: [String] = []) -> [String] {
        ["--listen", "127.0.0.1:0", "--upstream", "http://127.0.0.1:\(sim.port)/v1", "--retry-base-ms", "20",
         "--state-dir", stateDirectory] + extra
    }

    private func cache(_ proxy: TestProcess) throws -> [String: Any] {
        ((try RawHTTPClient.request(port: proxy.port, "GET", "/").json() ?? [:])["cache"] as? [String: Any]) ?? [:]
    }

    func testSixProcessesStartedTogetherOnAFreshDirectoryAllStartAndLeaveOneTenantKey() throws {
        let proxies = try TestProcess.startTogether("thinkback", arguments: Array(repeating: arguments(["--store", "memory"]), count: 6))
        defer { proxies.forEach { $0.stop() } }
        let key = stateDirectory + "/tenant.key"
        let attributes = try FileManager.default.attributesOfItem(atPath: key)
        XCTAssertEqual((attributes[.size] as? NSNumber)?.intValue, 32)
        XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o600)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: stateDirectory), ["tenant.key"], "no temporary file left")
    }

    func testProcessesStartedTogetherShareTheFileAndRestoreEachOthersCaptures() throws {
        let proxies = try TestProcess.startTogether("thinkback", arguments: Array(repeating: arguments(), count: 6))
        defer { proxies.forEach { $0.stop() } }
        let next = try StoreRestartTests.firstTurn(proxies[0])
        XCTAssertTrue(ProxyFixture.eventually { ((try? self.cache(proxies[0])["entries"] as? Int) ?? 0) > 0 })
        // Each of the others restores it: the same tenant secret, the same file.
        for proxy in proxies.dropFirst() { try StoreRestartTests.secondTurn(proxy, next) }
        let ledger = ((try RawHTTPClient.request(port: sim.port, "GET", "/sim/stats").json() ?? [:])["ledger"] as? [String: Int]) ?? [:]
        XCTAssertEqual(ledger["exact"], 5, "\(ledger)")
        XCTAssertEqual(ledger["placeholder"] ?? 0, 0, "\(ledger)")
        for proxy in proxies { XCTAssertEqual(try cache(proxy)["store_state"] as? String, "ok") }
    }
}
