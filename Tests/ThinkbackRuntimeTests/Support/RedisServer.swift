import Foundation
import XCTest

/// A real `redis-server` on 127.0.0.1, on a free port, without persistence. Tests skip when
/// the binary is missing (scripts/setup --test installs it).
final class RedisServer {
    let port: UInt16
    private var process: Process?
    private let arguments: [String]

    static var binary: String? {
        for dir in ["/usr/bin", "/usr/local/bin", "/usr/sbin"] where FileManager.default.isExecutableFile(atPath: dir + "/redis-server") {
            return dir + "/redis-server"
        }
        return nil
    }

    init(extraArguments: [String] = []) throws {
        guard let binary = Self.binary else {
            throw XCTSkip("redis-server is not installed (scripts/setup --test installs it)")
        }
        port = try TestProcess.freeLoopbackPort()
        arguments = ["--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"] + extraArguments
        try start(binary)
    }

    private func start(_ binary: String) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = arguments
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        process = p
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if (try? command("PING")) == "+PONG" { return }
            usleep(20_000)
        }
        throw NSError(domain: "RedisServer", code: 1, userInfo: [NSLocalizedDescriptionKey: "redis-server did not start on \(port)"])
    }

    /// Kills the server at once (SIGKILL): the connection drops, nothing is flushed.
    func kill() {
        guard let p = process, p.isRunning else { return }
        Foundation.kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
    }

    /// Starts it again on the same port, empty.
    func restart() throws {
        kill()
        try start(Self.binary!)
    }

    func stop() {
        guard let p = process, p.isRunning else { return }
        p.terminate()
        p.waitUntilExit()
    }

    deinit { stop() }

    /// Sends one inline command; returns the first line of the reply ("+PONG", ":12", "$5"…),
    /// or the bulk string's content for a bulk reply.
    func command(_ line: String) throws -> String {
        // RawHTTPClient only for its connected socket; RESP is read here.
        let client = try RawHTTPClient(port: port)
        client.setTimeout(2)
        let out = Array((line + "\r\n").utf8)
        guard out.withUnsafeBytes({ Glibc.send(client.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == out.count else {
            throw RawHTTPClient.ClientError.closed
        }
        var received: [UInt8] = []
        func fill() throws {
            var buf = [UInt8](repeating: 0, count: 65536)
            let n = buf.withUnsafeMutableBytes { recv(client.fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { throw RawHTTPClient.ClientError.closed }
            received += buf[0..<n]
        }
        while !received.contains(0x0A) { try fill() }
        let end = received.firstIndex(of: 0x0A)!
        let first = String(decoding: received[0..<max(end - 1, 0)], as: UTF8.self)
        if first.hasPrefix("$"), let n = Int(first.dropFirst()), n >= 0 {
            while received.count < end + 1 + n { try fill() }
            return String(decoding: received[(end + 1)..<(end + 1 + n)], as: UTF8.self)
        }
        return first
    }

    /// `INFO memory`'s used_memory.
    func usedMemory() throws -> Int {
        let info = try command("INFO memory")
        let line = info.split(separator: "\r\n").first { $0.hasPrefix("used_memory:") } ?? ""
        return Int(line.dropFirst("used_memory:".count)) ?? 0
    }
}
