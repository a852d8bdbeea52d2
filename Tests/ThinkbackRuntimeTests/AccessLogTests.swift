import Foundation
import XCTest
@testable import ThinkbackRuntime

/// The access line: swift-log's line format built by hand, written once per loop pass.
final class AccessLogTests: XCTestCase {
    private var fds: [Int32] = [-1, -1]

    override func setUp() {
        XCTAssertEqual(pipe(&fds), 0)
        _ = fcntl(fds[0], F_SETFL, O_NONBLOCK)
    }

    override func tearDown() {
        close(fds[0])
        close(fds[1])
    }

    private func readAll() -> String {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fds[0], &chunk, chunk.count)
            if n <= 0 { break }
            out += chunk[..<n]
        }
        return String(decoding: out, as: UTF8.self)
    }

    private func entry(model: String = "mimo-v2.5-pro", id: UInt64 = 0x1f) -> AccessLog.Entry {
        AccessLog.Entry(requestID: id, route: "chat", model: model, stream: false, status: 200,
                        bytesIn: 68, bytesOut: 424, attempts: 2, upstreamMs: 3, totalMs: 12)
    }

    func testALineReadsLikeSwiftLogsOtherLines() throws {
        let loop = try EventLoop()
        let log = AccessLog(loop: loop, fd: fds[1])
        log.record(entry())
        log.flush()
        let line = readAll()
        let pattern = #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} info thinkback: attempts=2 bytes_in=68 bytes_out=424 model=mimo-v2\.5-pro request_id=1f route=chat status=200 stream=false total_ms=12 upstream_ms=3 \[ThinkbackRuntime\] access\n$"#
        XCTAssertNotNil(line.range(of: pattern, options: .regularExpression), line)
        // The same metadata through swift-log's formatting: keys sorted, `key=value` joined by spaces.
        let metadata = ["request_id": "1f", "route": "chat", "model": "mimo-v2.5-pro", "stream": "false", "status": "200",
                        "bytes_in": "68", "bytes_out": "424", "attempts": "2", "upstream_ms": "3", "total_ms": "12"]
        let pretty = metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        XCTAssertTrue(line.contains(" info thinkback: \(pretty) [ThinkbackRuntime] access\n"), line)
    }

    func testAClientsValueCannotForgeALine() throws {
        let loop = try EventLoop()
        let log = AccessLog(loop: loop, fd: fds[1])
        log.record(entry(model: "m\n2026-01-01T00:00:00+0000 critical thinkback: forged x=1"))
        log.record(entry(model: ""))
        log.flush()
        let lines = readAll().split(separator: "\n")
        XCTAssertEqual(lines.count, 2)
        XCTAssertTrue(lines[0].contains("model=m?2026-01-01T00:00:00+0000?critical?thinkback:?forged?x=1 request_id"), String(lines[0]))
        XCTAssertTrue(lines[1].contains(" model=- "), String(lines[1]))
    }

    func testLinesWaitForTheEndOfTheLoopPassThenGoInOneWrite() throws {
        let loop = try EventLoop()
        let log = AccessLog(loop: loop, fd: fds[1])
        for id in 1 ... 3 { log.record(entry(id: UInt64(id))) }
        XCTAssertEqual(readAll(), "", "nothing is written while the pass goes on")
        let stop = LoopTimer(loop: loop) { loop.stop() }
        stop.arm(milliseconds: 1)
        loop.run()
        let text = readAll()
        XCTAssertEqual(text.split(separator: "\n").count, 3)
        XCTAssertTrue(text.contains("request_id=1 ") && text.contains("request_id=3 "))
    }

    func testAFullBufferIsWrittenAtOnce() throws {
        let loop = try EventLoop()
        let log = AccessLog(loop: loop, fd: fds[1])
        var written = ""
        for id in 1 ... 400 {
            log.record(entry(id: UInt64(id)))
            written += readAll()
        }
        XCTAssertFalse(written.isEmpty, "32 KiB of lines must not wait for the pass")
        XCTAssertLessThanOrEqual(written.split(separator: "\n").count, 400)
        log.flush()
        XCTAssertEqual((written + readAll()).split(separator: "\n").count, 400)
    }

    func testUnderWorkersEachWriteIsWholeLinesWithinPipeBuf() throws {
        // A datagram socket shows each write(2) apart.
        var pair: [Int32] = [-1, -1]
        XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0, &pair), 0)
        defer { close(pair[0]); close(pair[1]) }
        var size: Int32 = 1 << 20
        setsockopt(pair[1], SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(pair[0], SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        _ = fcntl(pair[0], F_SETFL, O_NONBLOCK)
        let loop = try EventLoop()
        let log = AccessLog(loop: loop, fd: pair[1])
        log.sharedStream = true
        for id in 1 ... 60 { log.record(entry(id: UInt64(id))) }
        log.flush()
        var writes: [[UInt8]] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(pair[0], &chunk, chunk.count)
            if n <= 0 { break }
            writes.append(Array(chunk[..<n]))
        }
        XCTAssertGreaterThan(writes.count, 1, "60 lines are more than one PIPE_BUF")
        for w in writes {
            XCTAssertLessThanOrEqual(w.count, AccessLog.atomicWrite)
            XCTAssertEqual(w.last, UInt8(ascii: "\n"), "a write ends at a line's end")
        }
        XCTAssertEqual(writes.joined().split(separator: UInt8(ascii: "\n")).count, 60)
    }
}
