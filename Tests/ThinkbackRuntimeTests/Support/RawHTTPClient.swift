import Foundation

/// A blocking HTTP/1.1 client on a raw socket, so tests can time each chunk, read slowly,
/// stop reading, or vanish mid-response — what real clients do and URLSession hides.
final class RawHTTPClient {
    struct Response {
        var status: Int
        var headers: [(String, String)]
        var body: [UInt8]
        /// Each chunk of a chunked body with the time (seconds since the request) it arrived.
        var chunks: [(time: Double, bytes: [UInt8])]
        var completed: Bool

        func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }
        var text: String { String(decoding: body, as: UTF8.self) }
        func json() -> [String: Any]? { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] }
    }

    enum ClientError: Error { case connect(Int32), closed, timeout, malformed(String) }

    let fd: Int32
    private var pending: [UInt8] = []
    private var started = Date()

    init(port: UInt16, receiveBuffer: Int? = nil) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        if let size = receiveBuffer {
            var s = Int32(size)
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &s, socklen_t(MemoryLayout<Int32>.size))
        }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if rc != 0 {
            let e = errno
            close(fd)
            throw ClientError.connect(e)
        }
        setTimeout(30)
    }

    deinit { close(fd) }

    func setTimeout(_ seconds: Double) {
        var tv = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Closes the connection abruptly (what a client does when the user cancels).
    func disconnect() { shutdown(fd, Int32(SHUT_RDWR)) }

    /// Sends bytes as they are (a pipelined request, garbage).
    func sendRaw(_ bytes: [UInt8]) throws {
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { throw ClientError.closed }
            off += n
        }
    }

    func send(_ method: String, _ path: String, headers: [(String, String)] = [], body: [UInt8] = []) throws {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        for (k, v) in headers { head += "\(k): \(v)\r\n" }
        if !body.isEmpty || method == "POST" { head += "Content-Length: \(body.count)\r\n" }
        head += "\r\n"
        let bytes = Array(head.utf8) + body
        started = Date()
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { throw ClientError.closed }
            off += n
        }
    }

    private func fill() throws {
        var buf = [UInt8](repeating: 0, count: 65536)
        let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n == 0 { throw ClientError.closed }
        if n < 0 { throw errno == EAGAIN || errno == EWOULDBLOCK ? ClientError.timeout : ClientError.closed }
        pending.append(contentsOf: buf[0..<n])
    }

    private func readLine() throws -> String {
        while true {
            if let i = pending.firstIndex(of: 0x0A) {
                let line = pending[0..<i]
                pending.removeFirst(i + 1)
                return String(decoding: line.last == 0x0D ? line.dropLast() : line, as: UTF8.self)
            }
            try fill()
        }
    }

    private func readExactly(_ n: Int) throws -> [UInt8] {
        while pending.count < n { try fill() }
        let out = Array(pending[0..<n])
        pending.removeFirst(n)
        return out
    }

    /// Reads the status line and headers.
    func readHead() throws -> (Int, [(String, String)]) {
        let status = try readLine()
        let parts = status.split(separator: " ")
        guard parts.count >= 2, let code = Int(parts[1]) else { throw ClientError.malformed(status) }
        var headers: [(String, String)] = []
        while true {
            let line = try readLine()
            if line.isEmpty { break }
            if let c = line.firstIndex(of: ":") {
                headers.append((String(line[..<c]), line[line.index(after: c)...].trimmingCharacters(in: .whitespaces)))
            }
        }
        return (code, headers)
    }

    /// Reads a whole response; `onChunk` may return false to stop reading early.
    func readResponse(onChunk: ((Double, [UInt8]) -> Bool)? = nil) throws -> Response {
        let (status, headers) = try readHead()
        var r = Response(status: status, headers: headers, body: [], chunks: [], completed: false)
        if let len = r.header("content-length").flatMap(Int.init) {
            r.body = try readExactly(len)
            r.completed = true
        } else if r.header("transfer-encoding")?.lowercased() == "chunked" {
            while true {
                let sizeLine: String
                do { sizeLine = try readLine() } catch { return r }
                guard let size = Int(sizeLine.split(separator: ";")[0], radix: 16) else { throw ClientError.malformed(sizeLine) }
                if size == 0 {
                    _ = try? readLine()
                    r.completed = true
                    return r
                }
                let data: [UInt8]
                do { data = try readExactly(size); _ = try readLine() } catch { return r }
                let t = Date().timeIntervalSince(started)
                r.body += data
                r.chunks.append((t, data))
                if let onChunk, !onChunk(t, data) { return r }
            }
        } else {
            while true {
                do { try fill() } catch { break }
            }
            r.body = pending
            pending = []
        }
        return r
    }

    /// One request on a fresh connection.
    static func request(port: UInt16, _ method: String, _ path: String, headers: [(String, String)] = [],
                        body: [UInt8] = []) throws -> Response {
        let c = try RawHTTPClient(port: port)
        try c.send(method, path, headers: headers, body: body)
        return try c.readResponse()
    }
}
