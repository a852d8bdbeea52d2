import Foundation
import XCTest

/// A real process started for a test (the proxy or the simulator), on 127.0.0.1 with port 0:
/// the port is read back from its "listening" log line. Stopped with SIGTERM in `stop()`.
final class TestProcess: @unchecked Sendable {
    let process = Process()
    let name: String
    private(set) var port: UInt16 = 0
    private let output = Pipe()
    private var logText = ""
    private let lock = NSLock()

    static var productsDirectory: URL {
        // The test bundle sits next to the built products (.build/<config>/).
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        while url.pathComponents.count > 1 {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("thinkback").path) { return url }
        }
        fatalError("cannot find the built products next to \(CommandLine.arguments[0])")
    }

    /// Starts `name` and waits until it listens.
    convenience init(_ name: String, arguments: [String], environment: [String: String] = [:]) throws {
        try self.init(launching: name, arguments: arguments, environment: environment)
        try waitUntilListening()
    }

    /// Starts `name` once per argument list, released together: each waits in a shell for a
    /// FIFO to close, which happens once all of them are waiting, so their startups overlap
    /// (process spawning alone staggers them by milliseconds). Then waits for each to listen.
    static func startTogether(_ name: String, arguments: [[String]]) throws -> [TestProcess] {
        let fifo = NSTemporaryDirectory() + "thinkback-start-\(UUID().uuidString)"
        guard mkfifo(fifo, 0o600) == 0 else { throw NSError(domain: "TestProcess", code: 3) }
        defer { unlink(fifo) }
        // Read-write: opening does not block, and readers see end-of-file once this closes.
        let gate = open(fifo, O_RDWR)
        guard gate >= 0 else { throw NSError(domain: "TestProcess", code: 3) }
        let executable = productsDirectory.appendingPathComponent(name).path
        let processes = try arguments.map {
            try TestProcess(launching: name, executable: URL(fileURLWithPath: "/bin/sh"),
                            arguments: ["-c", #"read _ < "$0"; exec "$@""#, fifo, executable] + $0, environment: [:])
        }
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline, !processes.allSatisfy({ $0.hasOpen(fifo) }) { usleep(5_000) }
        close(gate)
        for process in processes { try process.waitUntilListening() }
        return processes
    }

    /// Whether the process has `path` open (from /proc).
    private func hasOpen(_ path: String) -> Bool {
        let fds = "/proc/\(pid)/fd"
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: fds)) ?? []
        return entries.contains { (try? FileManager.default.destinationOfSymbolicLink(atPath: fds + "/" + $0)) == path }
    }

    private init(launching name: String, executable: URL? = nil, arguments: [String], environment: [String: String]) throws {
        self.name = name
        process.executableURL = executable ?? TestProcess.productsDirectory.appendingPathComponent(name)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        process.environment = env
        process.standardOutput = output
        process.standardError = output
        output.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self, !data.isEmpty else { return }
            self.lock.lock()
            self.logText += String(decoding: data, as: UTF8.self)
            self.lock.unlock()
        }
        try process.run()
    }

    private func waitUntilListening() throws {
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if let port = parsePort() {
                self.port = port
                return
            }
            if !process.isRunning { break }
            usleep(20_000)
        }
        let log = self.log
        stop()
        throw NSError(domain: "TestProcess", code: 1, userInfo: [NSLocalizedDescriptionKey: "\(name) did not start: \(log)"])
    }

    var log: String {
        lock.lock()
        defer { lock.unlock() }
        return logText
    }

    var pid: Int32 { process.processIdentifier }

    private func parsePort() -> UInt16? {
        let text = log
        guard let line = text.split(separator: "\n").first(where: { $0.contains("listening") }),
              let range = line.range(of: #"127\.0\.0\.1:(\d+)"#, options: .regularExpression) else { return nil }
        return UInt16(line[range].split(separator: ":").last!)
    }

    /// Resident memory in KiB, from /proc.
    var rssKiB: Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return 0 }
        return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? 0
    }

    /// User + system CPU time so far, in clock ticks (1/100 s), from /proc.
    var cpuTicks: Int {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // after the command: state is field 3, utime 14 and stime 15 (1-based, whole line)
        guard fields.count > 12, let u = Int(fields[11]), let s = Int(fields[12]) else { return 0 }
        return u + s
    }

    func signal(_ signo: Int32) { kill(process.processIdentifier, signo) }

    /// Waits for exit; returns the exit status, or nil on timeout.
    func waitForExit(timeout: TimeInterval) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        return process.isRunning ? nil : process.terminationStatus
    }

    func stop() {
        if process.isRunning {
            signal(SIGTERM)
            if waitForExit(timeout: 5) == nil {
                signal(SIGKILL)
                _ = waitForExit(timeout: 5)
            }
        }
        output.fileHandleForReading.readabilityHandler = nil
    }

    deinit { stop() }

    /// A port on 127.0.0.1 that nothing listens on right now.
    static func freeLoopbackPort() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa -> Bool in
                bind(fd, sa, length) == 0 && getsockname(fd, sa, &length) == 0
            }
        }
        guard bound else { throw NSError(domain: "TestProcess", code: 2) }
        return UInt16(bigEndian: address.sin_port)
    }
}
