import Foundation
import XCTest
import CLibEvent
@testable import ThinkbackRuntime

/// A slow upload in small bursts costs linear work: what is already buffered is not copied
/// again on every burst (issue 17). The server runs in this process, the client on a thread.
final class UploadCostTests: XCTestCase {
    func testAnUploadInSmallBurstsIsCopiedABoundedNumberOfTimes() throws {
        let loop = try EventLoop()
        var received = -1
        let server = try HTTPServer(loop: loop, options: .init(host: "127.0.0.1", port: 0, maxBodyBytes: 64 << 20)) { request in
            received = request.body.count
            request.reply(status: 200, headers: [], body: Array("ok".utf8))
            loop.stop()
        }
        let port = server.port
        let bodySize = 4 << 20
        let burst = 6000   // each burst fills libevent's 4,096-byte read and leaves more behind
        let client = Thread {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = port.bigEndian
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            let head = "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: \(bodySize)\r\n\r\n"
            _ = head.withCString { send(fd, $0, strlen($0), 0) }
            let chunk = [UInt8](repeating: 0x61, count: burst)
            var sent = 0
            while sent < bodySize {
                let n = min(burst, bodySize - sent)
                _ = chunk.withUnsafeBytes { send(fd, $0.baseAddress, n, 0) }
                sent += n
                usleep(200)   // a burst, then a pause: the server reads each burst on its own
            }
            var answer = [UInt8](repeating: 0, count: 256)
            _ = recv(fd, &answer, answer.count, 0)
            close(fd)
        }
        let before = cle_read_ahead_copied_bytes()
        client.start()
        let guardTimer = LoopTimer(loop: loop) { loop.stop() }
        guardTimer.arm(milliseconds: 60_000)
        loop.run()
        let copied = cle_read_ahead_copied_bytes() - before
        XCTAssertEqual(received, bodySize)
        XCTAssertLessThanOrEqual(copied, UInt64(2 * bodySize), "\(copied) buffered bytes copied again for a \(bodySize)-byte body")
        _ = server
    }
}
