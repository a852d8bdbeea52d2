import Foundation
import XCTest

/// A simulator and a proxy in front of it, both real processes on 127.0.0.1.
final class ProxyFixture {
    let sim: TestProcess
    let proxy: TestProcess

    init(simArguments: [String] = [], proxyArguments: [String] = [], proxyEnvironment: [String: String] = [:]) throws {
        sim = try TestProcess("thinkback-sim", arguments: ["--listen", "127.0.0.1:0"] + simArguments)
        do {
            proxy = try TestProcess("thinkback", arguments: [
                "--listen", "127.0.0.1:0", "--upstream", "http://127.0.0.1:\(sim.port)/v1",
                "--retry-base-ms", "20", "--state-dir", NSTemporaryDirectory() + "thinkback-test-\(UUID().uuidString)",
            ] + proxyArguments, environment: proxyEnvironment)
        } catch {
            sim.stop()
            throw error
        }
    }

    func stop() {
        proxy.stop()
        sim.stop()
    }

    static let auth = [("Authorization", "Bearer test-key-A"), ("Content-Type", "application/json")]

    static func chatBody(stream: Bool, extra: String = "") -> [UInt8] {
        Array(#"{"model":"mimo-v2.5-pro","stream":\#(stream),"messages":[{"role":"user","content":"Hello, 世界"}]\#(extra)}"#.utf8)
    }

    func transport() throws -> [String: Int] {
        let r = try RawHTTPClient.request(port: sim.port, "GET", "/sim/transport")
        return (r.json() ?? [:]).compactMapValues { $0 as? Int }
    }

    func proxyStatus() throws -> [String: Any] {
        try RawHTTPClient.request(port: proxy.port, "GET", "/").json() ?? [:]
    }

    func simStats() throws -> [String: Any] {
        try RawHTTPClient.request(port: sim.port, "GET", "/sim/stats").json() ?? [:]
    }

    /// Polls until `condition` holds or `timeout` passes.
    static func eventually(timeout: TimeInterval = 5, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try condition() { return true }
            usleep(20_000)
        }
        return try condition()
    }
}
