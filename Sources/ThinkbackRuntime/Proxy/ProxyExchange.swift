import CLibEvent
import Logging
import ThinkbackCore
#if canImport(Glibc)
import Glibc
#endif

/// One proxied request, from the client's bytes to the provider and back. Loop thread only.
/// The lifecycle decisions live in `ExchangeStateMachine` and, once a stream started, in
/// `StreamStateMachine`; this class carries them out.
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
    private let requestID: UInt64
    /// As the logs write it.
    private var requestIDText: String { String(requestID, radix: 16) }
    private let startMs: UInt64
    private var headMs: UInt64 = 0
    private var bytesOut = 0
    private var attempts = 0
    private var finalStatus = 0
    private let bytesIn: Int

    // Restoration (the chat and messages routes)
    private var scan: ScannedRequest?
    private var tenant: TenantID?
    private var policy: RestorePolicy?
    private var pending: [RestorePending] = []
    /// The digest of the request's messages: what the answer's capture is keyed by.
    private var history: SHA256Digest?
    private var found: [[StoredReasoning?]] = []
    /// The rewritten body sent upstream, when restoration changed it (curl reads it in place).
    private var restoredBody: RestoredBody?
    private var model = "-"
    // A started stream
    private var stream: StreamStateMachine?
    /// The capture of a streamed answer, until it is recorded.
    private var recorder: AnyStreamRecorder?
    /// The bytes from `[DONE]` on, while their capture commits (product.md §1).
    private var heldTail: [UInt8] = []
    private var finished = false

    /// The proxy key the client presented (`--proxy-keys on`): the tenant, and the provider key
    /// replaces the client's credentials upstream.
    private let proxyKey: String?
    /// The upstream this request goes to: chosen by its path's prefix, else by its model
    /// (an upstream's `models=`), else the default.
    private var upstream: UpstreamConfig {
        didSet { lane = proxy.lane(of: upstream) }
    }
    /// The upstream's lane on the workers' board (its counters).
    private var lane: Int
    /// The path named the upstream (`/NAME/v1/…`): its model does not choose another.
    private let upstreamNamed: Bool
    /// What restoration did to the request (the `thinkback-restore` header).
    private var summary = Restorer.Summary()
    /// `auto` retried after the provider refused the placeholders.
    private var retriedAfterRefusal = false
    /// The request fixes this upstream needs (chat only), spliced with restoration's edits.
    private var hygiene: [(fix: ChatHygiene.Fix, edit: JSONEdit)] = []
    /// The fixes applied (counted once per request).
    private var fixesApplied = 0
    /// Tool calls rescued from the answer's reasoning (§9).
    private var rescued = 0
    /// The tools the request offered (kept past the scan, which a stream lets go of).
    private var offeredTools: Set<String> = []
    /// The messages restored from the store in the attempt going upstream (their indexes).
    private var restoredIndexes: [Int] = []
    /// The placeholder strategy put placeholders in the attempt going upstream.
    private var sentPlaceholders = false

    init(proxy: Proxy, request: InboundRequest, route: Route, upstream: UpstreamConfig, upstreamNamed: Bool, proxyKey: String? = nil) {
        self.proxy = proxy
        self.upstream = upstream
        self.lane = proxy.lane(of: upstream)
        self.upstreamNamed = upstreamNamed
        self.proxyKey = proxyKey
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
        // Once the stream started, the stream machine hears the client.
        request.onGone = { [self] in
            if stream != nil { apply(stream: .clientGone) } else { apply(machine.handle(.clientGone)) }
        }
        request.onDrain = { [self] in apply(stream: .clientDrained) }
        request.watch()
        guard route == .chatCompletions || route == .messages else {
            apply(machine.handle(.start))
            return
        }
        prepareRestore()
    }

    // MARK: restoration (product.md §2–§3)

    /// Scans the body, looks the assistant messages up, and starts the exchange with the
    /// restored body — or answers 400 (invalid JSON) or 409 (`reject`) itself.
    private func prepareRestore() {
        let restorer = proxy.restorer
        let body = request.body
        let api = route.api ?? .openAI
        let scanned: ScannedRequest
        do {
            scanned = try ScannedRequest.scan(body, api: api)
        } catch {
            if case .syntax(let e) = error {
                restorer.stats.add(.invalidJSON, lane: lane)
                return replyError(.badJSON(offset: e.offset, reason: e.reason))
            }
            // Valid JSON of another shape: not ours to judge; the provider answers it.
            apply(machine.handle(.start))
            return
        }
        restorer.stats.add(.requestsScanned, lane: lane)
        scan = scanned
        if let m = scanned.model {
            model = m
            let real = ChatHygiene.realModel(m) ?? m
            if !upstreamNamed, let chosen = proxy.config.upstreams.first(where: { $0.takes(model: real) }) {
                guard route.api != .anthropic || proxy.config.anthropicBaseURL(for: chosen) != nil else {
                    return replyError(.notFound("\(request.target.prefix { $0 != "?" }) (upstream \(chosen.name), which model \(m) goes to, has no Anthropic-compatible base)"))
                }
                upstream = chosen
            }
        }
        if case .chat(let chat) = scanned {
            if upstream.effectiveRescue { offeredTools = Set(chat.toolNames) }
            let thinking = restorer.thinks(model: scanned.model ?? "", thinkingType: scanned.thinkingType, upstream: upstream)
            hygiene = ChatHygiene.edits(chat, body: body, fixes: upstream.effectiveHygiene, thinking: thinking)
        }
        guard let tenant = proxyKey.map({ restorer.tenant(forProxyKey: $0) }) ?? restorer.tenant(of: request) else {
            return startWithFixesOnly()
        }
        self.tenant = tenant
        let plan = scanned.plan(body: body, scope: proxy.config.restoreScope(for: upstream), builder: KeyBuilder(tenant: tenant))
        pending = plan.pending
        history = plan.history
        guard !pending.isEmpty else { return startWithFixesOnly() }
        let policy = restorer.policy(model: scanned.model, thinkingType: scanned.thinkingType, upstream: upstreamBase,
                                     nowMs: proxy.loop.nowMs, for: upstream)
        self.policy = policy
        let keys = pending.flatMap(\.keys)
        restorer.store.lookup(keys) { [self] results in
            guard machine.state == .idle, request.isOpen else { return }
            var k = 0
            found = pending.map { p in
                defer { k += p.keys.count }
                return Array(results[k ..< min(k + p.keys.count, results.count)])
            }
            applyRestore(policy: policy, isFallback: false)
        }
    }

    /// Plans the edits under `policy`, splices them, and starts (or restarts) the transfer.
    private func applyRestore(policy: RestorePolicy, isFallback: Bool) {
        guard let scan else { return }
        let restorer = proxy.restorer
        let outcome = scan.outcome(body: request.body, pending: pending, found: found, policy: policy, issuer: upstreamBase)
        summary = restorer.account(outcome, requestID: requestIDText, policy: policy, lane: lane)
        restoredIndexes = outcome.actions.compactMap { if case .restore = $0.action { return $0.messageIndex } else { return nil } }
        sentPlaceholders = outcome.usedPlaceholder
        if let index = outcome.rejectedMessageIndex {
            restorer.stats.add(.rejected, lane: lane)
            return replyError(.reasoningMissing(messageIndex: index, thinkingBlocks: route == .messages))
        }
        restoredBody = nil
        let fixes = ChatHygiene.compatible(hygiene, with: outcome.edits)
        countFixes(fixes.map(\.fix))
        let edits = outcome.edits + fixes.map(\.edit)
        if !edits.isEmpty {
            do {
                restoredBody = try RestoredBody(edits: edits, original: request.body)
            } catch {
                // A bug, not bad input: say so and forward the original rather than a broken body.
                proxy.logger.error("restore: edits do not apply", metadata: ["request_id": "\(requestIDText)", "error": "\(error.reason)"])
            }
        }
        // A refusal is looked at when it may be ours to mend: `auto`'s placeholders, or reasoning
        // restored from the store (whatever the strategy: the entries are dropped).
        machine.refusalFallbackArmed = !isFallback && ((policy.strategy == .auto && outcome.usedPlaceholder) || !restoredIndexes.isEmpty)
        if isFallback {
            apply(machine.handle(.refusalConfirmed))
        } else {
            apply(machine.handle(.start))
        }
    }

    /// Starts with no restoration: the client's body, with the upstream's fixes if it needs any.
    private func startWithFixesOnly() {
        if !hygiene.isEmpty {
            countFixes(hygiene.map(\.fix))
            do {
                restoredBody = try RestoredBody(edits: hygiene.map(\.edit), original: request.body)
            } catch {
                proxy.logger.error("hygiene: edits do not apply", metadata: ["request_id": "\(requestIDText)", "error": "\(error.reason)"])
            }
        }
        apply(machine.handle(.start))
    }

    /// Counts the fixes once per request (a retry splices them again, uncounted).
    private func countFixes(_ fixes: [ChatHygiene.Fix]) {
        guard fixesApplied == 0, !fixes.isEmpty else { return }
        fixesApplied = fixes.count
        proxy.restorer.countFixes(fixes, lane: lane)
    }

    /// A 400 that may be ours to mend: the provider refused the placeholders (`auto` remembers
    /// it for this upstream and model), or the reasoning restored from the store (its entries are
    /// dropped); under `auto` the request goes once more, at once, with the calls textualized.
    private func inspectRefusal() {
        let refused: Bool
        if let buffer, let data = evbuffer_pullup(buffer, -1) {
            refused = RefusalRecognizer.isRefusal(status: head.status,
                                                  body: UnsafeRawBufferPointer(start: data, count: evbuffer_get_length(buffer)),
                                                  wordings: upstream.refusalWordings
                                                      + (restoredIndexes.isEmpty ? [] : RefusalRecognizer.restoredReasoningRefusals))
        } else {
            refused = false
        }
        guard refused, var policy else { return apply(machine.handle(.notARefusal)) }
        let restorer = proxy.restorer
        if !restoredIndexes.isEmpty && summary.misses == 0 {
            // The provider refused a request whose every message in scope carried reasoning
            // from the store: those entries are what it refused. They are not sent again, to
            // anyone (their keys answer the ambiguity marker until it expires), and under
            // `auto` this request goes again without them (issue 21). With misses beside them,
            // the refusal is the misses' (a placeholder, a message left without reasoning).
            let dropped = Set(restoredIndexes)
            var keys: [CacheKey] = []
            for (i, p) in pending.enumerated() where dropped.contains(p.turn.messageIndex) {
                keys += p.keys
                found[i] = Array(repeating: nil, count: found[i].count)
            }
            restorer.dropRefused(keys: keys, messages: dropped.count, lane: lane)
            proxy.logger.notice("restored reasoning refused: its entries dropped", metadata: [
                "request_id": "\(requestIDText)", "messages": "\(dropped.count)"])
        }
        if sentPlaceholders {
            restorer.placeholderMemory.remember(upstream: upstreamBase, model: scan?.model ?? "",
                                                nowMs: proxy.loop.nowMs)
        }
        guard policy.strategy == .auto else { return apply(machine.handle(.notARefusal)) }
        restorer.stats.add(.autoRetries, lane: lane)
        proxy.logger.notice("refused: retrying with textualize", metadata: [
            "request_id": "\(requestIDText)", "model": "\(model)"])
        policy.placeholdersRefused = true
        self.policy = policy
        retriedAfterRefusal = true
        transfer?.abort()
        transfer = nil
        applyRestore(policy: policy, isFallback: true)
    }

    /// `thinkback-restore: hits=H misses=M [strategy=S[,S…]] [retried=1] upstream=NAME` on every
    /// answer of the restoring routes: what thinkback did to the request, without reading logs.
    private var restoreHeader: [(name: String, value: String)] {
        guard route == .chatCompletions || route == .messages else { return [] }
        var value = "hits=\(summary.restored) misses=\(summary.misses)"
        if !summary.strategies.isEmpty { value += " strategy=" + summary.strategies.map(\.rawValue).joined(separator: ",") }
        if retriedAfterRefusal { value += " retried=1" }
        if fixesApplied > 0 { value += " fixed=\(fixesApplied)" }
        if rescued > 0 { value += " rescued=\(rescued)" }
        value += " upstream=" + upstream.name
        return [(name: Self.restoreHeaderName, value: value)]
    }

    static let restoreHeaderName = "thinkback-restore"

    /// The body that goes upstream: the restored one, else the client's.
    private var outgoingBody: UpstreamBody {
        restoredBody?.upload ?? .bytes(request.body)
    }

    private func replyError(_ error: ProxyError) {
        finalStatus = error.status
        bytesOut = proxy.replyError(request, error, requestID: requestIDText, headers: restoreHeader)
        finish()
    }

    /// §9: a whole chat answer without tool calls whose reasoning holds a leaked call of an
    /// offered tool gets it as a real one (the body rewritten in its buffer, before capture).
    private func rescueBuffered() {
        guard mayRescue, (200...299).contains(head.status), let buffer, let data = evbuffer_pullup(buffer, -1) else { return }
        let bytes = UnsafeRawBufferPointer(start: data, count: evbuffer_get_length(buffer))
        guard Self.offset(of: "<tool_call>", in: bytes) != nil, let response = try? ChatResponseScan(bytes),
              let first = response.choices.firstIndex(where: { $0.toolCalls.isEmpty && $0.reasoning != nil }) else { return }
        let calls = ToolCallRescue.calls(in: response.choices[first].reasoning ?? [], offered: offeredTools)
        guard !calls.isEmpty else { return }
        let ids = calls.map { _ in Self.rescueID() }
        let edits = ToolCallRescue.edits(response: response, choice: first, calls: calls, ids: ids)
        guard !edits.isEmpty, let rewritten = try? JSONSplicer.apply(edits, to: bytes) else { return }
        evbuffer_drain(buffer, evbuffer_get_length(buffer))
        guard evbuffer_add(buffer, rewritten, rewritten.count) == 0 else { return }
        rescued = calls.count
        proxy.restorer.stats.add(.rescued, calls.count, lane: lane)
        proxy.logger.info("tool calls rescued from the reasoning", metadata: [
            "request_id": "\(requestIDText)", "calls": "\(calls.count)"])
    }

    /// A generated tool-call id: `call_` and 24 random hex digits.
    static func rescueID() -> String {
        var g = SystemRandomNumberGenerator()
        return "call_" + (0 ..< 3).map { _ in
            let hex = String(g.next() as UInt32, radix: 16)
            return String(repeating: "0", count: 8 - hex.count) + hex
        }.joined()
    }

    /// Records a whole (non-stream) successful answer; true if something was stored.
    private func captureBuffered() -> Bool {
        guard route == .chatCompletions || route == .messages, let tenant, let history, (200...299).contains(head.status),
              let buffer, let data = evbuffer_pullup(buffer, -1) else { return false }
        let bytes = UnsafeRawBufferPointer(start: data, count: evbuffer_get_length(buffer))
        if route == .messages {
            guard let message = CapturedAnthropicMessage(response: bytes) else {
                proxy.restorer.stats.add(.captureSkipped, lane: lane)
                return false
            }
            return proxy.restorer.record(message, issuer: upstreamBase, tenant: tenant, history: history,
                                         scope: proxy.config.restoreScope(for: upstream), lane: lane)
        }
        // Under restore = tool-calls only answers with tool calls are kept: most answers have
        // none, and a byte search says so without a parse.
        let scope = proxy.config.restoreScope(for: upstream)
        if scope == .toolCalls && !Self.mayHaveToolCalls(bytes) { return false }
        guard let response = try? ChatResponseScan(bytes) else {
            proxy.restorer.stats.add(.captureSkipped, lane: lane)
            return false
        }
        let choices = zip(response.choices, response.messageRanges).filter { !$0.1.isEmpty }.map(\.0)
        return proxy.restorer.record(choices, tenant: tenant, history: history, scope: scope, lane: lane)
    }

    /// Sends the collected answer (after its capture's commit, when it had one).
    private func replyBuffered() {
        guard let buffer else {
            preconditionFailure("a whole answer is collected in a buffer (startBuffering answers without one)")
        }
        bytesOut = evbuffer_get_length(buffer)
        request.reply(status: head.status, head: head, buffer: buffer, extra: restoreHeader)
        finish()
    }

    /// Whether `body` may hold a `"tool_calls": [` member (no false negatives for any JSON a
    /// provider writes; a false positive only costs the full scan).
    static func mayHaveToolCalls(_ body: UnsafeRawBufferPointer) -> Bool {
        guard let base = body.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return false }
        let key: StaticString = "tool_calls\""
        let n = body.count
        var i = 0
        while i < n, let q = memchr(base + i, 0x22, n - i) {   // each '"'
            var j = UnsafeRawPointer(q).assumingMemoryBound(to: UInt8.self) - base + 1
            i = j
            guard n - j >= 11, memcmp(base + j, key.utf8Start, 11) == 0 else { continue }
            j += 11
            while j < n, base[j] == 0x20 || base[j] == 0x0A || base[j] == 0x0D || base[j] == 0x09 { j += 1 }
            guard j < n, base[j] == UInt8(ascii: ":") else { continue }
            j += 1
            while j < n, base[j] == 0x20 || base[j] == 0x0A || base[j] == 0x0D || base[j] == 0x09 { j += 1 }
            if j < n, base[j] == UInt8(ascii: "[") { return true }
        }
        return false
    }

    /// Whether this request's answer may get its leaked tool calls rescued (§9).
    private var mayRescue: Bool {
        route == .chatCompletions && upstream.effectiveRescue && !offeredTools.isEmpty
    }

    /// §9 for a stream that ended (its `[DONE]` in `bytes`) without tool calls while its reasoning
    /// holds leaked calls of offered tools: the bytes before `[DONE]`, then a chunk with the
    /// calls' deltas and one with `finish_reason: "tool_calls"`, then the rest. The recorded
    /// answer gets the calls too (`captured`). Nil when there is nothing to rescue, or when
    /// `[DONE]` is not wholly in this read (then the stream is left alone).
    private func rescueStream(_ bytes: UnsafeRawBufferPointer, _ captured: inout AnyStreamRecorder.Captured?) -> [UInt8]? {
        guard mayRescue, case .chat(var choices)? = captured,
              let first = choices.firstIndex(where: { $0.toolCalls.isEmpty && $0.reasoning != nil }),
              let done = Self.offset(of: "data: [DONE]", in: bytes) ?? Self.offset(of: "data:[DONE]", in: bytes) else { return nil }
        let calls = ToolCallRescue.calls(in: choices[first].reasoning ?? [], offered: offeredTools)
        guard !calls.isEmpty else { return nil }
        let ids = calls.map { _ in Self.rescueID() }
        let events = ToolCallRescue.streamEvents(calls: calls, ids: ids, choice: choices[first].index, model: model)
        choices[first].toolCalls = zip(ids, calls).map { CapturedToolCall(id: $0, name: $1.name, arguments: $1.arguments) }
        choices[first].finishReason = "tool_calls"
        captured = .chat(choices)
        rescued = calls.count
        proxy.restorer.stats.add(.rescued, calls.count, lane: lane)
        proxy.logger.info("tool calls rescued from the reasoning", metadata: [
            "request_id": "\(requestIDText)", "calls": "\(calls.count)", "stream": "true"])
        return Array(bytes[..<done]) + events + Array(bytes[done...])
    }

    /// Where `needle` first stands in `bytes` (memchr to each candidate, then memcmp).
    static func offset(of needle: StaticString, in bytes: UnsafeRawBufferPointer) -> Int? {
        let n = needle.utf8CodeUnitCount
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count >= n else { return nil }
        var i = 0
        while i + n <= bytes.count, let q = memchr(base + i, Int32(needle.utf8Start.pointee), bytes.count - n + 1 - i) {
            let at = UnsafeRawPointer(q).assumingMemoryBound(to: UInt8.self) - base
            if memcmp(base + at, needle.utf8Start, n) == 0 { return at }
            i = at + 1
        }
        return nil
    }

    /// Ends the stream's capture and records its answer if it completed; true if something was
    /// stored. `captured`: the answer already taken from the recorder (a rescue edited it).
    @discardableResult
    private func recordStream(completed: Bool, captured taken: AnyStreamRecorder.Captured?? = nil) -> Bool {
        let captured: AnyStreamRecorder.Captured?
        if let taken {
            captured = taken
        } else {
            guard var recorder else { return false }
            self.recorder = nil
            captured = recorder.finish(completed: completed)
        }
        recorder = nil
        guard let tenant, let history else { return false }
        switch captured {
        case .chat(let choices)?:
            return proxy.restorer.record(choices, tenant: tenant, history: history, scope: proxy.config.restoreScope(for: upstream), lane: lane)
        case .anthropic(let message)?:
            return proxy.restorer.record(message, issuer: upstreamBase, tenant: tenant, history: history,
                                         scope: proxy.config.restoreScope(for: upstream), lane: lane)
        case nil:
            proxy.restorer.stats.add(.captureSkipped, lane: lane)
            return false
        }
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
            stream = StreamStateMachine()
            finalStatus = status
            proxy.streaming += 1
            if tenant != nil || mayRescue, let api = route.api, route == .chatCompletions || route == .messages {
                recorder = AnyStreamRecorder(api: api, limit: proxy.config.maxResponseBytes)
            }
            request.startStream(status: status, head: head, extra: restoreHeader, slots: proxy.config.streamSlots,
                                queueBytes: proxy.config.streamQueueBytes)
            releaseForStream()
        case .startBuffering:
            firstByteTimer?.cancel()
            headMs = proxy.loop.nowMs
            if let buffer {
                evbuffer_drain(buffer, evbuffer_get_length(buffer))
            } else {
                buffer = cle_failpoint_hit("response_buffer") != 0 ? nil : evbuffer_new()
                if buffer == nil {
                    apply(machine.handle(.failed(.outOfMemory("the answer's buffer"))))
                }
            }
        case .replyBuffered:
            finalStatus = head.status
            rescueBuffered()
            // The answer goes once its capture is committed (the loop goes on meanwhile).
            if captureBuffered(), proxy.restorer.gate.hold({ [self] in withExtendedLifetime(self) { replyBuffered() } }) {
                return
            }
            replyBuffered()
        case .scheduleRetry(let delay):
            transfer?.abort()
            transfer = nil
            proxy.logger.info("retrying upstream", metadata: [
                "request_id": "\(requestIDText)", "attempt": "\(attempts)", "status": "\(head.status)", "delay_ms": "\(delay)"])
            let timer = retryTimer ?? LoopTimer(loop: proxy.loop) { [unowned self] in
                self.apply(self.machine.handle(.retryTimerFired))
            }
            retryTimer = timer
            timer.arm(milliseconds: delay)
        case .replyError(let error):
            transfer?.abort()
            transfer = nil
            replyError(error)
        case .endStream:
            preconditionFailure("a stream's end is the stream machine's (transferDone)")
        case .inspectRefusal:
            inspectRefusal()
        case .abandon:
            abandon()
        case .none:
            break
        }
    }

    /// The client left: the transfer goes, the exchange ends.
    private func abandon() {
        transfer?.abort()
        transfer = nil
        finalStatus = 499
        finish()
    }

    // MARK: carrying out the stream machine's decisions

    /// The read holding the stream's end: the answer recorded now, and the bytes from `[DONE]`
    /// on held until the record is committed (product.md §1), else written at once.
    private func forwardEnd(_ bytes: UnsafeRawBufferPointer, captured: AnyStreamRecorder.Captured?) -> Bool {
        if recordStream(completed: true, captured: .some(captured)),
           proxy.restorer.gate.hold({ [self] in apply(stream: .commitReleased) }) {
            return carryOutStream(.commitAwaited(count: bytes.count), bytes)
        }
        if !request.streamWrite(bytes) { return !request.isOpen }
        bytesOut += bytes.count
        return true
    }

    private func apply(stream event: StreamStateMachine.Event) {
        withExtendedLifetime(self) { _ = carryOutStream(event, noBytes) }
    }

    private var noBytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: nil, count: 0) }

    /// Feeds the stream machine and carries out its decision. `bytes`: the upstream read the
    /// event is about; returns whether it was taken (false pauses the transfer: curl gives the
    /// same bytes again after a resume).
    private func carryOutStream(_ event: StreamStateMachine.Event, _ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let action = stream?.handle(event) else { return true }
        switch action {
        case .forward:
            // Capture sees the bytes once, before they are queued for the client (the write
            // below is then sure to be taken: a full ring pauses here, before the parse).
            guard request.streamHasRoom() else {
                return request.isOpen ? carryOutStream(.clientFull, bytes) : true
            }
            // The client may ask its next question as soon as it has `[DONE]`, before curl
            // reports the transfer finished: record now, and let the bytes from `[DONE]` on go
            // only once the record is committed (product.md §1).
            if recorder?.feed(bytes) == true {
                var captured = recorder?.finish(completed: true)
                recorder = nil
                if let rescued = rescueStream(bytes, &captured) {
                    // What goes on is the read with the rescued calls before its `[DONE]`.
                    return rescued.withUnsafeBytes { out in forwardEnd(out, captured: captured) }
                }
                return forwardEnd(bytes, captured: captured)
            }
            if recorder?.isOverLimit == true {
                recorder = nil
                proxy.restorer.stats.add(.captureSkipped, lane: lane)
                proxy.logger.notice("stream larger than --max-response-bytes: relayed without capture", metadata: [
                    "request_id": "\(requestIDText)", "limit": "\(proxy.config.maxResponseBytes)"])
            }
            if !request.streamWrite(bytes) { return !request.isOpen }
            bytesOut += bytes.count
            return true
        case .hold:
            heldTail.append(contentsOf: bytes)
            bytesOut += bytes.count
            return true
        case .pauseUpstream:
            return false
        case .resumeUpstream:
            transfer?.resume()
            return true
        case .drop:
            return true
        case .writeTail:
            // A full ring: `.clientDrained` comes back here. A client gone: `.clientGone` ended
            // the stream.
            guard request.streamHasRoom() else { return true }
            guard heldTail.withUnsafeBytes({ request.streamWrite($0) }) || !request.isOpen else { return true }
            heldTail = []
            return carryOutStream(.tailWritten, noBytes)
        case .endStream(let completed):
            request.endStream()
            recordStream(completed: completed)
            finish()
            return true
        case .abandon:
            abandon()
            return true
        case .none:
            return true
        }
    }

    /// A stream can stay open for minutes, mostly idle: once it started nothing retries, so
    /// what only served the start goes now — the scan, the head, the first-byte timer and,
    /// once curl has sent the request, the client's body and headers, the restored body,
    /// curl's header lines and evhttp's copy of the response headers.
    private func releaseForStream() {
        firstByteTimer = nil
        retryTimer = nil
        head = ResponseHead()
        scan = nil
        pending = []
        found = []
        guard transfer?.releaseUpload() ?? true else { return }
        restoredBody = nil   // before the client's body it may point into
        request.releaseRequest()
    }

    /// curl's receive buffer for this request: small when it asks for a stream.
    static func receiveBufferBytes(scan: ScannedRequest?, config: Config) -> Int {
        scan?.stream == true ? config.streamBufferBytes : 0
    }

    private func startAttempt() {
        let config = proxy.config
        let transfer = UpstreamTransfer(delegate: self)
        self.transfer = transfer
        let base = upstreamBase
        let method = request.method
        let options = UpstreamTransfer.Options(
            url: base + (route.upstreamPath(target: request.target) ?? "") + Route.query(of: request.target),
            headerLines: ["Expect:"] + providerCredential,   // no 100-continue round trip; curl sets Host and Content-Length
            forwardedFrom: request,
            dropCredentials: proxyKey != nil,
            // A body goes with POST, PUT and PATCH always, with another method when it has one.
            isPost: method == "POST" || method == "PUT" || method == "PATCH" || !request.body.isEmpty,
            // GET and HEAD go as GET (evhttp sends no body to a HEAD), POST as POST.
            customMethod: method == "GET" || method == "HEAD" || method == "POST" ? nil : method,
            connectTimeoutMs: config.connectTimeoutMs,
            lowSpeedSeconds: config.streamIdleTimeoutSeconds,
            http2: config.http2,
            receiveBufferBytes: Self.receiveBufferBytes(scan: scan, config: config))
        if let failure = transfer.start(loop: proxy.loop, options: options, body: outgoingBody) {
            self.transfer = nil
            apply(machine.handle(.transferDone(failure)))
            return
        }
        let timer = firstByteTimer ?? LoopTimer(loop: proxy.loop) { [unowned self] in
            self.apply(self.machine.handle(.firstByteTimeout))
        }
        firstByteTimer = timer
        // A stream's first chunk comes at once; a whole answer only after all the thinking.
        timer.arm(milliseconds: UInt64(scan?.stream == true ? config.streamFirstByteTimeoutMs : config.firstByteTimeoutMs))
    }

    /// Under `--proxy-keys on`: the provider key thinkback holds, as this route's API takes it.
    private var providerCredential: [String] {
        guard proxyKey != nil, let key = proxy.config.providerKey else { return [] }
        return [route.api == .anthropic ? "x-api-key: \(key)" : "Authorization: Bearer \(key)"]
    }

    /// The base URL this route's requests go to: the upstream's OpenAI-compatible one, or its
    /// Anthropic-compatible one (also what signed thinking is issued by, and what `auto`
    /// remembers refusals under).
    private var upstreamBase: String {
        route.api == .anthropic ? proxy.config.anthropicBaseURL(for: upstream) ?? "" : upstream.preset.baseURL
    }

    /// Ends the exchange, exactly once: its reply, its stream's end, or its client leaving.
    private func finish() {
        precondition(!finished, "an exchange finishes once")
        finished = true
        firstByteTimer?.cancel()
        retryTimer?.cancel()
        firstByteTimer = nil
        retryTimer = nil
        if stream != nil { proxy.streaming -= 1 }
        request.onGone = nil
        request.onDrain = nil
        proxy.exchangeFinished(proxyKey: proxyKey)
        logAccess()
    }

    private func logAccess() {
        proxy.recordRequest(route: route, status: finalStatus, bytesIn: bytesIn, bytesOut: bytesOut,
                            firstByteMs: headMs > 0 ? headMs - startMs : nil, totalMs: proxy.loop.nowMs - startMs, lane: lane)
        proxy.accessLog?.record(AccessLog.Entry(
            requestID: requestID, route: route.name, model: model, stream: stream != nil, status: finalStatus,
            bytesIn: bytesIn, bytesOut: bytesOut, attempts: attempts,
            upstreamMs: headMs > 0 ? headMs - startMs : 0, totalMs: proxy.loop.nowMs - startMs))
    }

    // MARK: UpstreamTransferDelegate

    func transferHeaderLine(_ line: UnsafeRawBufferPointer) {
        guard head.feed(line: line) else { return }
        let retryAfter = head.retryAfter.flatMap(RetryPolicy.parseRetryAfter)
        // A relayed route's answer goes on as it comes, whatever its type (an error is collected:
        // it may be retried).
        apply(machine.handle(.headComplete(status: head.status, isEventStream: head.isEventStream || route.isPassthrough,
                                           retryAfterMs: retryAfter)))
    }

    func transferData(_ bytes: UnsafeRawBufferPointer) -> Bool {
        switch machine.state {
        case .streaming:
            return carryOutStream(.upstreamBytes(count: bytes.count), bytes)
        case .buffering:
            guard let buffer, let base = bytes.baseAddress else { return true }
            if evbuffer_get_length(buffer) + bytes.count > proxy.config.maxResponseBytes {
                // Never collected without a bound: the client gets a 502 instead.
                proxy.logger.warning("upstream answer larger than --max-response-bytes", metadata: [
                    "request_id": "\(requestIDText)", "limit": "\(proxy.config.maxResponseBytes)"])
                apply(machine.handle(.responseTooLarge))
                return true
            }
            evbuffer_add(buffer, base, bytes.count)
            return true
        default:
            return true
        }
    }

    func transferDone(_ outcome: TransferOutcome) {
        transfer = nil
        switch machine.handle(.transferDone(outcome)) {
        case .endStream:
            // Committed: when the client's stream ends is the stream machine's call.
            if case .failed(let why) = outcome {
                let error = ProxyError.streamBroken(why)
                proxy.logger.warning("upstream failed mid-stream", metadata: [
                    "request_id": "\(requestIDText)", "error": "\(why)",
                    "origin": "\(error.origin.rawValue)", "retryable": "\(error.isRetryable)"])
            }
            apply(stream: .upstreamDone(completed: outcome == .completed))
        case let action:
            apply(action)
        }
    }
}

