import ThinkbackCore
#if canImport(Glibc)
import Glibc
#endif

/// One access line per request, written the way nginx writes its access log rather than
/// through swift-log: the line is built into one buffer with no formatting objects, the time
/// string is made once per second, and the lines of one loop pass go out in one `write(2)` at
/// its end (or as soon as 32 KiB are waiting). The line reads like the other log lines
/// (swift-log's `StreamLogHandler` format, metadata sorted by key), so one reader takes both:
///
///     2026-12-04T21:35:15+0000 info thinkback: attempts=1 bytes_in=68 bytes_out=424 model=m
///     request_id=1 route=chat status=200 stream=false total_ms=1 upstream_ms=1 [ThinkbackRuntime] access
///
/// (one line). A line may reach the file later than another log line written in the same
/// loop pass; never later than the pass. Values a client chose (the model) are written with
/// bytes outside printable ASCII and spaces replaced, so no line can be forged. Loop thread
/// only.
final class AccessLog {
    struct Entry {
        var requestID: UInt64
        var route: String
        var model: String
        var stream: Bool
        var status: Int
        var bytesIn: Int
        var bytesOut: Int
        var attempts: Int
        var upstreamMs: UInt64
        var totalMs: UInt64
    }

    private let fd: Int32
    private let label: [UInt8]
    private var buffer: [UInt8] = []
    private var flushTimer: LoopTimer?
    private var second: time_t = -1
    private var stamp: [UInt8] = []
    /// Bytes that could not be written (the descriptor refused them).
    private(set) var droppedBytes = 0
    /// Other processes write to the same stream (`--workers`): writes are cut at line ends into
    /// pieces of at most `PIPE_BUF` bytes, which a pipe keeps whole, so lines never interleave.
    var sharedStream = false
    static let flushBytes = 32 << 10

    /// One JSON object per line (`--log-format json`) instead of key=value text.
    private let json: Bool

    init(loop: EventLoop, fd: Int32 = 2, label: String = "thinkback", json: Bool = false) {
        self.fd = fd
        self.json = json
        self.label = Array(label.utf8)
        buffer.reserveCapacity(Self.flushBytes + 512)
        flushTimer = LoopTimer(loop: loop) { [unowned self] in self.flush() }
    }

    deinit { flush() }

    func record(_ e: Entry) {
        let wasEmpty = buffer.isEmpty
        if json {
            recordJSON(e)
        } else {
            recordText(e)
        }
        if buffer.count >= Self.flushBytes {
            flush()
        } else if wasEmpty {
            flushTimer?.arm(milliseconds: 0)   // at the end of this loop pass
        }
    }

    /// `{"ts":…,"level":"info","label":"thinkback","msg":"access","attempts":1,…}`: the keys
    /// of the text line, numbers as numbers.
    private func recordJSON(_ e: Entry) {
        buffer.append(contentsOf: #"{"ts":""#.utf8)
        appendStamp()
        buffer.append(contentsOf: #"","level":"info","label":"#.utf8)
        JSONText.appendString(String(decoding: label, as: UTF8.self), to: &buffer)
        buffer.append(contentsOf: #","msg":"access","attempts":"#.utf8)
        appendNumber(UInt64(max(0, e.attempts)))
        buffer.append(contentsOf: #","bytes_in":"#.utf8)
        appendNumber(UInt64(max(0, e.bytesIn)))
        buffer.append(contentsOf: #","bytes_out":"#.utf8)
        appendNumber(UInt64(max(0, e.bytesOut)))
        buffer.append(contentsOf: #","model":""#.utf8)
        appendSafe(e.model)
        buffer.append(contentsOf: #"","request_id":""#.utf8)
        appendHex(e.requestID)
        buffer.append(contentsOf: #"","route":""#.utf8)
        buffer.append(contentsOf: e.route.utf8)
        buffer.append(contentsOf: #"","status":"#.utf8)
        appendNumber(UInt64(max(0, e.status)))
        buffer.append(contentsOf: e.stream ? #","stream":true"#.utf8 : #","stream":false"#.utf8)
        buffer.append(contentsOf: #","total_ms":"#.utf8)
        appendNumber(e.totalMs)
        buffer.append(contentsOf: #","upstream_ms":"#.utf8)
        appendNumber(e.upstreamMs)
        buffer.append(contentsOf: "}\n".utf8)
    }

    private func recordText(_ e: Entry) {
        appendStamp()
        buffer.append(0x20)
        buffer.append(contentsOf: "info ".utf8)
        buffer.append(contentsOf: label)
        buffer.append(contentsOf: ": attempts=".utf8)
        appendNumber(UInt64(max(0, e.attempts)))
        buffer.append(contentsOf: " bytes_in=".utf8)
        appendNumber(UInt64(max(0, e.bytesIn)))
        buffer.append(contentsOf: " bytes_out=".utf8)
        appendNumber(UInt64(max(0, e.bytesOut)))
        buffer.append(contentsOf: " model=".utf8)
        appendSafe(e.model)
        buffer.append(contentsOf: " request_id=".utf8)
        appendHex(e.requestID)
        buffer.append(contentsOf: " route=".utf8)
        buffer.append(contentsOf: e.route.utf8)
        buffer.append(contentsOf: " status=".utf8)
        appendNumber(UInt64(max(0, e.status)))
        buffer.append(contentsOf: e.stream ? " stream=true".utf8 : " stream=false".utf8)
        buffer.append(contentsOf: " total_ms=".utf8)
        appendNumber(e.totalMs)
        buffer.append(contentsOf: " upstream_ms=".utf8)
        appendNumber(e.upstreamMs)
        buffer.append(contentsOf: " [ThinkbackRuntime] access\n".utf8)
    }

    /// `PIPE_BUF` on Linux.
    static let atomicWrite = 4096

    /// Writes what is waiting, now.
    func flush() {
        guard !buffer.isEmpty else { return }
        buffer.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                var end = raw.count
                if sharedStream && end - done > Self.atomicWrite {
                    // The last line end within PIPE_BUF (a longer line goes alone, as it is).
                    var cut = done + Self.atomicWrite
                    while cut > done && raw[cut - 1] != UInt8(ascii: "\n") { cut -= 1 }
                    if cut == done {
                        cut = done + Self.atomicWrite
                        while cut < raw.count && raw[cut - 1] != UInt8(ascii: "\n") { cut += 1 }
                    }
                    end = cut
                }
                let n = write(fd, raw.baseAddress! + done, end - done)
                if n > 0 {
                    done += n
                } else if n < 0 && errno == EINTR {
                    continue
                } else {
                    droppedBytes += raw.count - done   // EAGAIN on a full pipe, EBADF, EPIPE
                    break
                }
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// `2026-12-04T21:35:15+0000`, local time like swift-log's handler: made once a second.
    private func appendStamp() {
        let now = time(nil)
        if now != second {
            second = now
            var t = now
            var parts = tm()
            localtime_r(&t, &parts)
            var text = [CChar](repeating: 0, count: 32)
            let n = strftime(&text, text.count, "%Y-%m-%dT%H:%M:%S%z", &parts)
            stamp = text.prefix(n).map { UInt8(bitPattern: $0) }
        }
        buffer.append(contentsOf: stamp)
    }

    private func appendNumber(_ value: UInt64) {
        var length = 1
        var rest = value
        while rest >= 10 {
            rest /= 10
            length += 1
        }
        let start = buffer.count
        buffer.append(contentsOf: repeatElement(0x30, count: length))
        rest = value
        var at = start + length - 1
        repeat {
            buffer[at] = UInt8(truncatingIfNeeded: rest % 10) &+ 0x30
            rest /= 10
            at -= 1
        } while rest > 0
    }

    private func appendHex(_ value: UInt64) {
        let hex: StaticString = "0123456789abcdef"
        var shift = 60
        while shift > 0 && (value >> UInt64(shift)) & 0xF == 0 { shift -= 4 }
        while shift >= 0 {
            buffer.append(hex.utf8Start[Int((value >> UInt64(shift)) & 0xF)])
            shift -= 4
        }
    }

    /// A client's value: printable ASCII but space kept, anything else becomes `?` (and `"`,
    /// `\\` too: the same bytes are safe in a JSON string), at most 200 bytes.
    private func appendSafe(_ s: String) {
        var count = 0
        for b in s.utf8 {
            guard count < 200 else { break }
            buffer.append(b > 0x20 && b < 0x7F && b != UInt8(ascii: "\"") && b != UInt8(ascii: "\\") ? b : UInt8(ascii: "?"))
            count += 1
        }
        if count == 0 { buffer.append(UInt8(ascii: "-")) }
    }
}
