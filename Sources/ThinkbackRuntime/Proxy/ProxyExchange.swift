import CLibEvent
import Logging
import ThinkbackCore

/// One proxied request, from the client's bytes to the provider and back. Loop thread only.
/// The lifecycle decisions live in `ExchangeStateMachine`; this class carries them out.
final class ProxyExchange: UpstreamTransferDelegate {
    private unowned let proxy: Proxy
    private let request: InboundRequest
    private let route: Route
    private var machine: ExchangeStateMachine
    private var transfer: UpstreamTransfer?
    private var head = ResponseHead()
    private var buffer: OpaquePointer?          // evbuffer collecting a whole-body response
    private var firstByteTimer: LoopTimer?
    private var retryTimer: LoopTimer?
    private let requestID: String
    private let startMs: UInt64
    private var headMs: UInt64 = 0
    private var bytesOut = 0
    private var attempts = 0
    private var finalStatus = 0
    private var stream = false
    private let bytesIn: Int

    init(proxy: Proxy, request: InboundRequest, route: Route) {
        self.proxy = proxy
        self.request = request
        self.route = route
        machine = ExchangeStateMachine(retry: proxy.config.retry)
        requestID = proxy.makeRequestID()
        startMs = proxy.loop.nowMs
        bytesIn = request.body.count
    }

    deinit {
        if let buffer { evbuffer_free(buffer) }
    }

    func start() {
        request.onGone = { [self] in apply(machine.handle(.clientGone)) }
        request.onDrain = { [self] in transfer?.resume() }
        request.watch()
        apply(machine.handle(.start))
    }

    // MARK: carrying out the machine's decisions

    private func apply(_ action: ExchangeStateMachine.Action) {
        // finish() drops the references that keep this exchange alive.
        withExtendedLifetime(self) { carryOut(action) }
    }

    private func carryOut(_ action: ExchangeStateMachine.Action) {
        switch action {
        case .startAttempt(let n):
            attempts = n
            head = ResponseHead()
            startAttempt()
        case .startStream(let status):
            firstByteTimer?.cancel()
            headMs = proxy.loop.nowMs
            stream = true
            finalStatus = status
            proxy.streaming += 1
            request.startStream(status: status, headers: head.forwardableHeaders, slots: proxy.config.streamSlots)
        case .startBuffering:
            firstByteTimer?.cancel()
            headMs = proxy.loop.nowMs
            if let buffer { evbuffer_drain(buffer, evbuffer_get_length(buffer)) } else { buffer = evbuffer_new() }
        case .replyBuffered:
            finalStatus = head.status
            if let buffer {
                bytesOut = evbuffer_get_length(buffer)
                request.reply(status: head.status, headers: head.forwardableHeaders, buffer: buffer)
            }
            finish()
        case .scheduleRetry(let delay):
            transfer?.abort()
            transfer = nil
            proxy.logger.info("retrying upstream", metadata: [
                "request_id": "\(requestID)", "attempt": "\(attempts)", "status": "\(head.status)", "delay_ms": "\(delay)"])
            let timer = retryTimer ?? LoopTimer(loop: proxy.loop) { [unowned self] in
                self.apply(self.machine.handle(.retryTimerFired))
            }
            retryTimer = timer
            timer.arm(milliseconds: delay)
        case .replyError(let error):
            transfer?.abort()
            transfer = nil
            finalStatus = error.status
            let body = error.openAIBody
            bytesOut = body.count
            request.reply(status: error.status, headers: [("Content-Type", "application/json")], body: body)
            finish()
        case .endStream:
            request.endStream()
            finish()
        case .abandon:
            transfer?.abort()
            transfer = nil
            finalStatus = 499
            finish()
        case .none:
            break
        }
    }

    private func startAttempt() {
        let config = proxy.config
        let transfer = UpstreamTransfer(delegate: self)
        self.transfer = transfer
        let options = UpstreamTransfer.Options(
            url: config.upstream.baseURL + (route.upstreamPath ?? "") + Route.query(of: request.target),
            headerLines: forwardedHeaderLines(),
            isPost: request.method == "POST",
            connectTimeoutMs: config.connectTimeoutMs,
            lowSpeedSeconds: config.streamIdleTimeoutSeconds,
            http2: config.http2)
        if let failure = transfer.start(loop: proxy.loop, options: options, body: request.body) {
            self.transfer = nil
            apply(machine.handle(.transferDone(.connectFailed(failure))))
            return
        }
        let timer = firstByteTimer ?? LoopTimer(loop: proxy.loop) { [unowned self] in
            self.apply(self.machine.handle(.firstByteTimeout))
        }
        firstByteTimer = timer
        timer.arm(milliseconds: UInt64(config.firstByteTimeoutMs))
    }

    /// The client's end-to-end headers, credentials as sent; curl sets Host and Content-Length.
    private func forwardedHeaderLines() -> [String] {
        var lines: [String] = ["Expect:"]   // no 100-continue round trip
        request.forEachHeader { name, value in
            let n = String(cString: name)
            if !HopByHop.isHopByHop(n) { lines.append(n + ": " + String(cString: value)) }
        }
        return lines
    }

    private func finish() {
        firstByteTimer?.cancel()
        retryTimer?.cancel()
        firstByteTimer = nil
        retryTimer = nil
        if stream { proxy.streaming -= 1 }
        request.onGone = nil
        request.onDrain = nil
        proxy.exchangeFinished()
        if proxy.config.accessLog { logAccess() }
    }

    private func logAccess() {
        let now = proxy.loop.nowMs
        proxy.logger.info("access", metadata: [
            "request_id": "\(requestID)",
            "route": "\(route.name)",
            "model": "-",
            "stream": "\(stream)",
            "status": "\(finalStatus)",
            "bytes_in": "\(bytesIn)",
            "bytes_out": "\(bytesOut)",
            "attempts": "\(attempts)",
            "upstream_ms": "\(headMs > 0 ? headMs - startMs : 0)",
            "total_ms": "\(now - startMs)",
        ])
    }

    // MARK: UpstreamTransferDelegate

    func transferHeaderLine(_ line: UnsafeRawBufferPointer) {
        guard head.feed(line: line) else { return }
        let retryAfter = head.value("retry-after").flatMap(RetryPolicy.parseRetryAfter)
        apply(machine.handle(.headComplete(status: head.status, isEventStream: head.isEventStream,
                                           retryAfterMs: retryAfter)))
    }

    func transferData(_ bytes: UnsafeRawBufferPointer) -> Bool {
        switch machine.state {
        case .streaming:
            guard request.isOpen else { return true }
            if !request.streamWrite(bytes) { return !request.isOpen }
            bytesOut += bytes.count
            return true
        case .buffering:
            if let buffer, let base = bytes.baseAddress { evbuffer_add(buffer, base, bytes.count) }
            return true
        default:
            return true
        }
    }

    func transferDone(_ outcome: TransferOutcome) {
        transfer = nil
        if case .failed(let why) = outcome, machine.state == .streaming {
            proxy.logger.warning("upstream failed mid-stream", metadata: ["request_id": "\(requestID)", "error": "\(why)"])
        }
        apply(machine.handle(.transferDone(outcome)))
    }
}
