import CLibEvent
import ThinkbackCore
#if canImport(Glibc)
import Glibc
#endif

/// Receives the events of one upstream transfer, on the loop thread.
protocol UpstreamTransferDelegate: AnyObject {
    /// One header line as curl saw it (status line included, CRLF kept).
    func transferHeaderLine(_ line: UnsafeRawBufferPointer)
    /// Body bytes; return false to pause (the same bytes come again after `resume()`).
    func transferData(_ bytes: UnsafeRawBufferPointer) -> Bool
    /// Exactly once per started transfer, unless it was aborted.
    func transferDone(_ outcome: TransferOutcome)
}

/// One request to the provider on the loop's curl multi handle (a `cle_transfer`).
final class UpstreamTransfer {
    struct Options {
        var url: String
        var headerLines: [String]
        /// A client request whose end-to-end headers go upstream as sent.
        var forwardedFrom: InboundRequest?
        /// Leave the client's `Authorization`, `api-key` and `x-api-key` out (`--proxy-keys on`:
        /// the provider's key goes in `headerLines`).
        var dropCredentials = false
        var isPost: Bool
        /// The method when it is neither GET nor POST (PUT, PATCH, DELETE, OPTIONS).
        var customMethod: String? = nil
        var connectTimeoutMs: Int
        var lowSpeedSeconds: Int
        var http2: Bool
        /// curl's receive buffer; 0: curl's default (16 KiB).
        var receiveBufferBytes = 0
    }

    private var raw: OpaquePointer?
    private unowned let delegate: UpstreamTransferDelegate

    init(delegate: UpstreamTransferDelegate) {
        self.delegate = delegate
    }

    /// Starts the transfer. `body` must stay valid until `transferDone` or `abort()`.
    /// Returns nil, or how it failed to start (no callback fires then).
    func start(loop: EventLoop, options: Options, body: UpstreamBody) -> TransferOutcome? {
        precondition(raw == nil, "transfer started twice")
        var callbacks = cle_transfer_callbacks(
            on_header: { ctx, line, len in
                let me = Unmanaged<UpstreamTransfer>.fromOpaque(ctx!).takeUnretainedValue()
                me.delegate.transferHeaderLine(UnsafeRawBufferPointer(start: line, count: len))
            },
            on_data: { ctx, data, len in
                let me = Unmanaged<UpstreamTransfer>.fromOpaque(ctx!).takeUnretainedValue()
                return me.delegate.transferData(UnsafeRawBufferPointer(start: data, count: len)) ? 1 : 0
            },
            on_done: { ctx, code in
                let unmanaged = Unmanaged<UpstreamTransfer>.fromOpaque(ctx!)
                let me = unmanaged.takeUnretainedValue()
                let outcome = UpstreamTransfer.outcome(.easy(code), raw: me.raw)
                me.raw = nil
                let delegate = me.delegate
                unmanaged.release()   // the one release of the start's retain
                delegate.transferDone(outcome)
            })
        // Retained while curl holds the context; released once, in on_done or abort().
        let ctx = Unmanaged.passRetained(self)
        guard let t = cle_transfer_new(loop.raw, &callbacks, ctx.toOpaque()) else {
            ctx.release()
            return .connectFailed("cannot create a transfer")
        }
        for line in options.headerLines { _ = cle_transfer_add_header(t, line) }
        // The client's end-to-end headers, credentials as sent, straight from evhttp's strings.
        options.forwardedFrom?.forEachHeader { name, value in
            let n = strlen(name)
            let raw = UnsafeRawBufferPointer(start: name, count: n)
            if options.dropCredentials, Self.isCredential(raw) { return }
            if !HopByHop.isHopByHop(raw) {
                _ = cle_transfer_add_header_kv(t, name, value)
            }
        }
        var bytes: UnsafePointer<UInt8>?
        var parts: UnsafeBufferPointer<cle_body_part>?
        switch body {
        case .bytes(let b): bytes = b.baseAddress?.assumingMemoryBound(to: UInt8.self)
        case .parts(let p, _): parts = p
        }
        let rc = options.url.withCString { url -> Int32 in
            withOptionalCString(options.customMethod) { customMethod in
            var o = cle_transfer_options(
                url: url,
                body: bytes,
                body_len: body.count,
                parts: parts?.baseAddress,
                nparts: parts?.count ?? 0,
                is_post: options.isPost ? 1 : 0,
                connect_timeout_ms: options.connectTimeoutMs,
                total_timeout_ms: 0,
                low_speed_seconds: options.lowSpeedSeconds,
                verify_tls: 1,
                http2: options.http2 ? 1 : 0,
                receive_buffer_bytes: options.receiveBufferBytes,
                custom_method: customMethod)
            return cle_transfer_start(t, &o)
            }
        }
        if rc != 0 {
            ctx.release()
            return Self.outcome(.multi(rc), raw: nil)
        }
        raw = t
        return nil
    }

    static func isCredential(_ name: UnsafeRawBufferPointer) -> Bool {
        ["authorization", "api-key", "x-api-key"].contains { HopByHop.equalsIgnoringCase(name, Array($0.utf8)) }
    }

    /// Resumes a paused transfer in a later loop pass.
    func resume() { if let raw { cle_transfer_resume(raw) } }

    /// Cancels the transfer; no callback fires afterwards.
    func abort() {
        guard let t = raw else { return }
        raw = nil
        cle_transfer_abort(t)
        Unmanaged.passUnretained(self).release()
    }

    var isRunning: Bool { raw != nil }

    /// Once curl has sent the whole request: frees its header lines and returns true (the body
    /// given to `start` may then be freed too). Else false.
    func releaseUpload() -> Bool {
        guard let raw else { return true }
        return cle_transfer_release_upload(raw) != 0
    }

    /// A code curl answered with.
    enum CurlCode {
        /// A CURLcode: how a transfer ended.
        case easy(Int32)
        /// A CURLMcode: why the multi handle did not take a transfer.
        case multi(Int32)
    }

    /// The one place curl's codes become outcomes (style.md "Errors"). `raw`: the ended
    /// transfer, to tell a connect that never finished from a slow answer.
    static func outcome(_ curl: CurlCode, raw: OpaquePointer?) -> TransferOutcome {
        let code: Int32
        switch curl {
        case .multi(let rc):
            return .connectFailed("cannot start the transfer (curl multi code \(rc))")
        case .easy(let rc):
            code = rc
        }
        let text = String(cString: cle_curl_strerror(code))
        switch CURLcode(rawValue: UInt32(code)) {
        case CURLE_OK:
            return .completed
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY, CURLE_COULDNT_CONNECT,
             CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CACERT_BADFILE:
            return .connectFailed(text)
        case CURLE_OPERATION_TIMEDOUT:
            // A connect that never finished is "unreachable" (502), not a slow answer (504).
            if let raw, cle_transfer_pretransfer_us(raw) == 0 { return .connectFailed(text) }
            return .timedOut(text)
        default:
            return .failed(text)
        }
    }
}

/// `body` with `s` as a C string, or with nil.
private func withOptionalCString<R>(_ s: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
    guard let s else { return body(nil) }
    return s.withCString { body($0) }
}
