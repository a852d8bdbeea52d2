import CLibEvent
#if canImport(Glibc)
import Glibc
#endif
import ThinkbackCore

/// One inbound request and its reply (a `cle_exchange`). Loop thread only.
///
/// Contract: answer exactly once with `reply` or `startStream` … `endStream`; after that, or
/// after `onGone` fired, the request must not be used.
public final class InboundRequest {
    private var x: OpaquePointer?
    public let method: String
    /// The request target; a `/NAME/` upstream prefix is taken off once routed (`Proxy`).
    public internal(set) var target: String
    /// Fires once if the client disconnects before the reply is complete.
    public var onGone: (() -> Void)?
    /// Fires when a full stream ring drained (resume the upstream).
    public var onDrain: (() -> Void)?
    private var retainedForCallbacks = false

    init(_ exchange: OpaquePointer) {
        x = exchange
        method = InboundRequest.methodName(cle_exchange_method(exchange))
        target = String(cString: cle_exchange_uri(exchange))
    }

    private static func methodName(_ m: Int32) -> String {
        switch UInt32(m) {
        case EVHTTP_REQ_GET.rawValue: return "GET"
        case EVHTTP_REQ_POST.rawValue: return "POST"
        case EVHTTP_REQ_HEAD.rawValue: return "HEAD"
        case EVHTTP_REQ_PUT.rawValue: return "PUT"
        case EVHTTP_REQ_DELETE.rawValue: return "DELETE"
        case EVHTTP_REQ_OPTIONS.rawValue: return "OPTIONS"
        case EVHTTP_REQ_PATCH.rawValue: return "PATCH"
        case EVHTTP_REQ_CONNECT.rawValue: return "CONNECT"
        case EVHTTP_REQ_TRACE.rawValue: return "TRACE"
        default: return "OTHER"
        }
    }

    /// True until the reply completed or the client left.
    public var isOpen: Bool { x != nil }

    public func header(_ name: String) -> String? {
        guard let x, let v = cle_exchange_header(x, name) else { return nil }
        return String(cString: v)
    }

    /// Why the request head could be read two ways (`RequestHeadCheck`), or nil.
    public func headProblem() -> String? {
        var check = RequestHeadCheck()
        forEachHeader { name, value in
            check.add(name: UnsafeRawBufferPointer(start: name, count: strlen(name)),
                      value: UnsafeRawBufferPointer(start: value, count: strlen(value)))
        }
        return check.problem
    }

    /// Calls `body` with each request header as sent.
    public func forEachHeader(_ body: (UnsafePointer<CChar>, UnsafePointer<CChar>) -> Void) {
        guard let x else { return }
        var kv = cle_exchange_next_header(x, nil)
        while let h = kv {
            body(cle_header_key(h), cle_header_value(h))
            kv = cle_exchange_next_header(x, h)
        }
    }

    /// The body, contiguous; valid until the reply.
    public var body: UnsafeRawBufferPointer {
        guard let x else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        var len = 0
        let p = cle_exchange_body(x, &len)
        return UnsafeRawBufferPointer(start: p, count: len)
    }

    /// Frees the body and the headers (and a started stream's response headers, already sent)
    /// while the reply goes on — a stream can last minutes: afterwards `body` is empty and
    /// `header(_:)` finds nothing. Only once nothing needs them: no retry, the upstream has the
    /// whole body.
    public func releaseRequest() {
        if let x { cle_exchange_release_request(x) }
    }

    private func addHeaders(_ headers: [(name: String, value: String)]) {
        guard let x else { return }
        for (name, value) in headers { cle_exchange_add_header(x, name, value) }
    }

    /// The upstream's end-to-end headers, straight from its head's bytes.
    private func addHeaders(from head: ResponseHead) {
        guard let x else { return }
        head.forEachForwardable { name, value in cle_exchange_add_header(x, name, value) }
    }

    /// Relays a whole upstream response: its forwardable headers, the body moved out of an
    /// evbuffer (no copy).
    public func reply(status: Int, head: ResponseHead, buffer: OpaquePointer, extra: [(name: String, value: String)] = []) {
        guard let x else { return }
        addHeaders(from: head)
        addHeaders(extra)
        self.x = nil
        cle_exchange_reply_buffer(x, Int32(status), buffer)
        finish()
    }

    /// Starts relaying an upstream stream with its forwardable headers.
    public func startStream(status: Int, head: ResponseHead, extra: [(name: String, value: String)] = [], slots: Int, queueBytes: Int) {
        addHeaders(from: head)
        startStream(status: status, headers: extra, slots: slots, queueBytes: queueBytes)
    }

    /// Starts watching for the client leaving (and for stream drains).
    public func watch() {
        guard let x, !retainedForCallbacks else { return }
        retainedForCallbacks = true
        // Retained while C may call back; released once, in finish().
        let ctx = Unmanaged.passRetained(self).toOpaque()
        cle_exchange_watch(x, { ctx in
            let me = Unmanaged<InboundRequest>.fromOpaque(ctx!).takeUnretainedValue()
            me.x = nil
            let gone = me.onGone
            me.finish()
            gone?()
        }, ctx)
    }

    /// Sends a complete reply (the body is copied).
    public func reply(status: Int, headers: [(name: String, value: String)], body: UnsafeRawBufferPointer) {
        guard let x else { return }
        addHeaders(headers)
        self.x = nil
        cle_exchange_reply(x, Int32(status), body.baseAddress?.assumingMemoryBound(to: UInt8.self), body.count)
        finish()
    }

    public func reply(status: Int, headers: [(name: String, value: String)], body: [UInt8]) {
        body.withUnsafeBytes { reply(status: status, headers: headers, body: $0) }
    }

    /// Sends a complete reply whose body is moved out of an evbuffer (no copy).
    public func reply(status: Int, headers: [(name: String, value: String)], buffer: OpaquePointer) {
        guard let x else { return }
        addHeaders(headers)
        self.x = nil
        cle_exchange_reply_buffer(x, Int32(status), buffer)
        finish()
    }

    /// Starts a chunked reply bounded to `slots` queued chunks and `queueBytes` queued bytes.
    public func startStream(status: Int, headers: [(name: String, value: String)], slots: Int, queueBytes: Int) {
        guard let x else { return }
        addHeaders(headers)
        cle_exchange_stream_start(x, Int32(status), UInt32(slots), UInt32(max(0, slots / 4)), max(1, queueBytes), { ctx in
            Unmanaged<InboundRequest>.fromOpaque(ctx!).takeUnretainedValue().onDrain?()
        })
    }

    /// Queues bytes for the client (copied once). False when the ring is full or the client
    /// is gone: nothing was taken.
    public func streamWrite(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let x, let base = bytes.baseAddress else { return x != nil }
        return cle_exchange_stream_write(x, base.assumingMemoryBound(to: UInt8.self), bytes.count) == 0
    }

    /// Whether a `streamWrite` made now would be taken (see `cle_exchange_stream_reserve`):
    /// false when the ring is full (`onDrain` follows) or the client is gone.
    public func streamHasRoom() -> Bool {
        guard let x else { return false }
        return cle_exchange_stream_reserve(x) == 0
    }

    /// Bytes queued for the client and not yet written to its socket.
    public var streamQueuedBytes: Int {
        guard let x else { return 0 }
        return cle_exchange_stream_queued_bytes(x)
    }

    public var streamFull: Bool {
        guard let x else { return true }
        return cle_exchange_stream_full(x) != 0
    }

    public func endStream() {
        guard let x else { return }
        self.x = nil
        cle_exchange_stream_end(x)
        finish()
    }

    /// Drops the connection without completing the reply.
    public func abort() {
        guard let x else { return }
        self.x = nil
        cle_exchange_abort(x)
        finish()
    }

    private func finish() {
        onDrain = nil
        onGone = nil
        if retainedForCallbacks {
            retainedForCallbacks = false
            Unmanaged.passUnretained(self).release()
        }
    }
}
