import CLibEvent
#if canImport(Glibc)
import Glibc
#endif
import Logging
import ThinkbackCore

/// The proxy: routes inbound requests, answers the local endpoints, and hands the provider
/// routes to a `ProxyExchange` each. Loop thread only.
public final class Proxy {
    public let loop: EventLoop
    public private(set) var config: Config
    /// Under `--workers`: this worker's index, the count, and its listening socket.
    public var worker: (index: Int, count: Int, listenDescriptor: Int32)? {
        didSet { accessLog?.sharedStream = (worker?.count ?? 1) > 1 }
    }
    /// The command line's flags, which a reload keeps winning over the config file.
    public var launchFlags: [String: String] = [:]
    let logger: Logger
    private(set) var server: HTTPServer?
    private var signals: [LoopSignal] = []
    private var drainTimer: LoopTimer?
    private var drainDeadlineMs: UInt64 = 0
    private var sweepTimer: LoopTimer?
    private let startedMs: UInt64
    private var nextRequestID: UInt64 = 0

    // loop thread only
    var inFlight = 0 { didSet { stats.store(.inFlight, inFlight) } }
    var streaming = 0 { didSet { stats.store(.streaming, streaming) } }
    private var acceptPauseLoggedMs: UInt64 = 0
    public private(set) var isDraining = false

    let restorer: Restorer
    /// The counters of the status JSON and `/metrics`, in memory every worker shares.
    let stats: StatsBoard
    /// `--proxy-keys on`: the keys clients must present, and how many requests each has in flight.
    private var proxyKeys: ProxyKeySet?
    private var proxyKeysStamp = ""
    private var proxyKeysDirectory = ""
    /// Requests, restored and missed messages per second for the status page's chart.
    var history = SecondCounters(series: 3, capacity: 300)
    private var historyTimer: LoopTimer?
    /// systemd's notification socket, when it started this process (`Type=notify`).
    private let systemd: SystemdNotifier?
    private let environment: [String: String]
    /// The listening socket came from systemd (`thinkback.socket`).
    public private(set) var socketActivated = false
    /// The access lines (`--access-log on` at level `info` or below), else nil.
    private(set) var accessLog: AccessLog?

    /// `stats`: the board the workers share (one of one slot outside `--workers`), this
    /// worker's slot taken.
    public init(loop: EventLoop, config: Config, logger: Logger, environment: [String: String],
                stats: StatsBoard = StatsBoard(slots: 1)) throws {
        self.loop = loop
        self.stats = stats
        self.config = config
        self.logger = logger
        startedMs = loop.nowMs
        accessLog = config.accessLog && logger.logLevel <= .info ? AccessLog(loop: loop, label: logger.label, json: config.logJSON) : nil
        restorer = try Restorer(config: config, loop: loop, environment: environment, logger: logger, stats: stats)
        systemd = SystemdNotifier(environment: environment)
        self.environment = environment
        if config.proxyKeys {
            guard let directory = StateDirectory.resolve(flag: config.stateDirectory, environment: environment) else {
                throw RuntimeError("--proxy-keys on: no state directory (set --state-dir)")
            }
            proxyKeysDirectory = directory
            proxyKeys = try StateFiles.proxyKeys(directory: directory)
            proxyKeysStamp = Self.fileStamp(directory + "/proxy-keys")
            if proxyKeys?.entries.isEmpty ?? true {
                logger.warning("--proxy-keys on but no key yet: every request is refused until `thinkback keys add NAME`")
            }
        }
        restorer.gate.onReleased = { [restorer] waitedMs in
            stats.record(stats.commitWait, waitedMs * 1000)
            restorer.publishStatistics()   // the commit's totals, before the answer goes on
        }
    }

    /// Binds the listener. Returns the bound port.
    @discardableResult
    public func start() throws -> UInt16 {
        var options = HTTPServer.Options(
            host: config.listenHost, port: config.listenPort,
            maxBodyBytes: config.maxBodyBytes, maxHeaderBytes: config.maxHeaderBytes,
            idleTimeoutSeconds: config.clientIdleTimeoutSeconds, headerTimeoutSeconds: config.clientHeaderTimeoutSeconds,
            bodyTimeoutSeconds: config.clientBodyTimeoutSeconds)
        options.listenDescriptor = worker?.listenDescriptor ?? SystemdActivation.listenDescriptor(environment: environment)
        socketActivated = worker == nil && options.listenDescriptor != nil
        let server = try HTTPServer(loop: loop, options: options) { [unowned self] request in
            self.handle(request)
        }
        self.server = server
        server.onAcceptPaused = { [unowned self] in
            // At most one line a minute: at the descriptor limit this fires ten times a second.
            let now = self.loop.nowMs
            guard now >= self.acceptPauseLoggedMs &+ 60_000 || self.acceptPauseLoggedMs == 0 else { return }
            self.acceptPauseLoggedMs = now
            self.logger.warning("accept failed (descriptor limit?): new connections wait 100 ms", metadata: [
                "open_requests": "\(self.inFlight)", "pauses": "\(server.acceptPauses)"])
        }
        // Expired entries go in the background too, not only when a lookup meets them.
        let sweep = LoopTimer(loop: loop) { [unowned self] in
            self.restorer.store.removeExpired()
            self.sweepTimer?.arm(milliseconds: 60_000)
        }
        sweep.arm(milliseconds: 60_000)
        sweepTimer = sweep
        history.start(historyTotals)
        let tick = LoopTimer(loop: loop) { [unowned self] in
            self.publishLevels()
            self.history.tick(self.historyTotals)
            self.historyTimer?.arm(milliseconds: 1000)
        }
        tick.arm(milliseconds: 1000)
        historyTimer = tick
        return server.port
    }

    /// Tells systemd the service is up (`Type=notify`): called once the port accepts and the
    /// store is open; starts the watchdog pings when `WatchdogSec=` is set.
    public func notifyReady(port: UInt16) {
        guard let systemd else { return }
        systemd.notify("READY=1\nSTATUS=serving on port \(port)\nMAINPID=\(getpid())")
        systemd.startWatchdog(loop: loop, environment: environment)
    }

    /// Stops on SIGINT/SIGTERM after draining; a second signal during the drain stops at once
    /// (the caller still writes the store's queue: `closeStore`).
    public func installSignalHandlers() {
        signals.append(LoopSignal(loop: loop, signal: SIGHUP) { [unowned self] in self.reload() })
        for signo in [SIGINT, SIGTERM] {
            signals.append(LoopSignal(loop: loop, signal: signo) { [unowned self] in
                if self.isDraining {
                    self.logger.warning("second signal: stopping now", metadata: ["in_flight": "\(self.inFlight)"])
                    self.loop.stop()
                    return
                }
                self.logger.notice("signal received: draining", metadata: ["in_flight": "\(self.inFlight)"])
                self.drain()
            })
        }
    }

    /// Stops accepting, lets in-flight requests finish for `drainTimeoutSeconds` (their last
    /// bytes included: the loop stops only once every reply has left), then stops the loop.
    public func drain() {
        loop.assertOnLoop()
        if isDraining { return }
        isDraining = true
        systemd?.notify("STOPPING=1\nSTATUS=draining")
        server?.stopListening()
        drainDeadlineMs = loop.nowMs + UInt64(config.drainTimeoutSeconds) * 1000
        let check = LoopTimer(loop: loop) { [unowned self] in self.drainCheck() }
        drainTimer = check
        check.arm(milliseconds: 0)
    }

    private func drainCheck() {
        if inFlight == 0 && (server?.unfinishedReplies ?? 0) == 0 {
            loop.stop()
        } else if loop.nowMs >= drainDeadlineMs {
            logger.warning("drain timeout: stopping with requests in flight", metadata: ["in_flight": "\(inFlight)"])
            loop.stop()
        } else {
            drainTimer?.arm(milliseconds: 10)
        }
    }

    func exchangeFinished(proxyKey: String?) {
        inFlight -= 1
        stats.add(.served)
        if let proxyKey { stats.keyFinished(proxyKey) }
    }

    /// The name of the proxy key `request` presents; a key added since (`thinkback keys add`
    /// rewrites the file) is read when an unknown one comes.
    private func authenticate(_ request: InboundRequest) -> String? {
        guard let credential = Restorer.credential(of: request) else { return nil }
        if let name = proxyKeys?.name(of: credential) { return name }
        let path = proxyKeysDirectory + "/proxy-keys"
        let stamp = Self.fileStamp(path)
        guard stamp != proxyKeysStamp else { return nil }
        proxyKeysStamp = stamp
        do {
            proxyKeys = try StateFiles.proxyKeys(directory: proxyKeysDirectory)
            logger.notice("proxy keys reloaded", metadata: ["keys": "\(proxyKeys?.entries.count ?? 0)"])
        } catch {
            logger.error("proxy keys unreadable: keeping the ones loaded", metadata: ["error": "\(error)"])
        }
        return proxyKeys?.name(of: credential)
    }

    /// `POST /admin/cache/clear`: the caller's own tenant (its credential, or its proxy key),
    /// or with `?all=1` and the admin key every tenant. Answers once the store has done it.
    private func clearCache(_ request: InboundRequest) -> (Route, Int)? {
        let route = Route.adminCacheClear
        let all = Route.query(of: request.target).split(whereSeparator: { $0 == "?" || $0 == "&" }).contains("all=1")
        let tenant: TenantID?
        if all {
            guard let adminKey = config.adminKey else {
                replyError(request, .forbidden("clearing every tenant needs an admin key (THINKBACK_ADMIN_KEY)"))
                return (route, 403)
            }
            guard let presented = Restorer.credential(of: request), ConstantTime.equal(presented.utf8, adminKey.utf8) else {
                replyError(request, .unauthorized())
                return (route, 401)
            }
            tenant = nil
        } else if proxyKeys != nil {
            guard let name = authenticate(request), let t = restorer.tenant(forProxyKey: name) else {
                replyError(request, .unauthorized())
                return (route, 401)
            }
            tenant = t
        } else {
            guard let t = restorer.tenant(of: request) else {
                replyError(request, .unauthorized())
                return (route, 401)
            }
            tenant = t
        }
        restorer.store.clear(tenant: tenant) { [self] ok in
            // The other workers drop their hot tiers' copies before their next request.
            if ok { stats.announceClear(tenant: tenant) }
            guard request.isOpen else { return }
            if ok {
                logger.notice("cache cleared", metadata: ["scope": "\(all ? "all" : "tenant")"])
                replyJSON(request, 200, Array((all ? #"{"cleared":"all"}"# : #"{"cleared":"tenant"}"#).utf8))
            } else {
                replyError(request, .storeFailed())
            }
            recordRequest(route: route, status: ok ? 200 : 503, bytesIn: 0, bytesOut: 0, firstByteMs: nil, totalMs: 0)
        }
        return nil
    }

    /// SIGHUP: reads the config file again and applies what a running process can change
    /// (strategies, thinking defaults, timeouts, retries, logging, keys' limits); what needs a
    /// restart (the listener, the upstream, the store, …) keeps its running value, with a
    /// notice naming it. A config that does not parse is refused with one error line: the
    /// running config stays. systemd hears `RELOADING=1` then `READY=1`.
    public func reload() {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        systemd?.notify("RELOADING=1\nMONOTONIC_USEC=\(UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1000)")
        defer { systemd?.notify("READY=1\nSTATUS=config reloaded") }
        guard let path = config.configFile else {
            logger.notice("SIGHUP: no config file (--config): nothing to reload")
            return
        }
        var next: Config
        do {
            next = try Config.resolve(flags: launchFlags, environment: environment, fileText: try Self.readConfigFile(path))
        } catch {
            logger.error("config reload refused: the running config stays", metadata: ["file": "\(path)", "error": "\(error)"])
            return
        }
        let fixed = config.restartOnlyChanges(to: next)
        // What only a restart changes keeps its running value.
        next.listenHost = config.listenHost
        next.listenPort = config.listenPort
        next.upstreams = config.upstreams
        next.defaultUpstreamIndex = config.defaultUpstreamIndex
        next.anthropicUpstream = config.anthropicUpstream
        next.store = config.store
        next.storeBytes = config.storeBytes
        next.redisPrefix = config.redisPrefix
        next.stateDirectory = config.stateDirectory
        next.tenantMode = config.tenantMode
        next.maxBodyBytes = config.maxBodyBytes
        next.maxHeaderBytes = config.maxHeaderBytes
        next.commitTimeoutMs = config.commitTimeoutMs
        next.clientIdleTimeoutSeconds = config.clientIdleTimeoutSeconds
        next.clientHeaderTimeoutSeconds = config.clientHeaderTimeoutSeconds
        next.clientBodyTimeoutSeconds = config.clientBodyTimeoutSeconds
        next.streamSlots = config.streamSlots
        next.streamQueueBytes = config.streamQueueBytes
        next.proxyKeys = config.proxyKeys
        next.logJSON = config.logJSON
        next.cacheLimits = config.cacheLimits
        if next.proxyKeys && next.providerKey == nil { next.providerKey = config.providerKey }
        config = next
        restorer.config = next
        LogLevelBox.shared.value = Logger.Level(rawValue: next.logLevel) ?? .info
        let wantsAccessLog = next.accessLog && LogLevelBox.shared.value <= .info
        if wantsAccessLog && accessLog == nil {
            accessLog = AccessLog(loop: loop, label: logger.label, json: next.logJSON)
            accessLog?.sharedStream = (worker?.count ?? 1) > 1
        } else if !wantsAccessLog, let log = accessLog {
            log.flush()
            accessLog = nil
        }
        var metadata: Logger.Metadata = ["file": "\(path)", "miss": "\(next.miss.rawValue)", "log_level": "\(next.logLevel)"]
        if !fixed.isEmpty { metadata["restart_needed_for"] = "\(fixed.joined(separator: ","))" }
        logger.notice("config reloaded", metadata: metadata)
    }

    /// The config file's text; nil for no file. A file that cannot be read is an error.
    public static func readConfigFile(_ path: String?) throws -> String? {
        guard let path else { return nil }
        guard let bytes = try StateFiles.readFile(path) else { throw RuntimeError("--config: no file \(path)") }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A file's modification time and size, to notice it changed.
    private static func fileStamp(_ path: String) -> String {
        var st = stat()
        guard stat(path, &st) == 0 else { return "" }
        return "\(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec).\(st.st_size).\(st.st_ino)"
    }

    func makeRequestID() -> UInt64 {
        nextRequestID += 1
        return nextRequestID
    }

    private func handle(_ request: InboundRequest) {
        if stats.announcementsPending {
            if let announcements = stats.takeAnnouncements() {
                var forgotten: [CacheKey] = []
                for a in announcements {
                    switch a {
                    case .clear(let tenant): restorer.store.forgetLocalCopies(tenant: tenant)
                    case .forget(let key): forgotten.append(key)
                    }
                }
                if !forgotten.isEmpty { restorer.store.forgetLocalCopies(keys: forgotten) }
            } else {
                restorer.store.forgetLocalCopies(tenant: nil)   // more than the ring kept: all of it
            }
        }
        // Proxied routes count themselves when they finish (ProxyExchange); the rest here.
        if let (route, status) = answer(request) {
            recordRequest(route: route, status: status, bytesIn: request.body.count, bytesOut: 0, firstByteMs: nil, totalMs: 0)
        }
    }

    /// The upstream a `/NAME/…` target names, and the target without the prefix.
    private func upstreamPrefix(_ target: String) -> (UpstreamConfig, String)? {
        let path = target.utf8
        guard path.first == UInt8(ascii: "/") else { return nil }
        let afterSlash = path.index(after: path.startIndex)
        guard let end = path[afterSlash...].firstIndex(of: UInt8(ascii: "/")) else { return nil }
        guard let upstream = config.upstream(named: Substring(path[afterSlash ..< end])) else { return nil }
        return (upstream, String(Substring(path[end...])))
    }

    /// Answers `request` at once, or hands it to an exchange (nil).
    private func answer(_ request: InboundRequest) -> (Route, Int)? {
        // A head that could be read two ways, or a method no route has (CONNECT, TRACE): a 4xx
        // and the connection closed, so nothing after it on the connection is read.
        if let problem = request.headProblem() {
            replyError(request, .badRequest(problem), close: true)
            return (.badPath, 400)
        }
        if request.method == "CONNECT" || request.method == "TRACE" {
            replyError(request, .methodNotAllowed(request.method, request.target), close: true)
            return (.methodNotAllowed, 405)
        }
        // `/NAME/…`: upstream NAME, the rest of the path its route.
        var upstream = config.defaultUpstream
        var upstreamNamed = false
        if let (named, rest) = upstreamPrefix(request.target) {
            upstream = named
            upstreamNamed = true
            request.target = rest
        }
        let route = Route.match(method: request.method, target: request.target)
        if upstreamNamed && route.api == nil && route != .methodNotAllowed && route != .badPath {
            replyError(request, .notFound("/\(upstream.name)\(request.target.prefix { $0 != "?" })"))
            return (.notFound, 404)
        }
        switch route {
        case .chatCompletions, .messages, .models, .passthrough, .anthropicPassthrough:
            if isDraining {
                replyError(request, .draining())
                return (route, 503)
            }
            if route.api == .anthropic && config.anthropicBaseURL(for: upstream) == nil {
                replyError(request, .notFound("\(request.target.prefix { $0 != "?" }) (upstream \(upstream.name) has no Anthropic-compatible base: --upstream-set \(upstream.name).anthropic=URL)"))
                return (route, 404)
            }
            var proxyKey: String?
            if proxyKeys != nil {
                guard let name = authenticate(request) else {
                    replyError(request, .unauthorized())
                    return (route, 401)
                }
                // Across the workers: the board counts each key's requests in flight.
                if config.proxyKeyConcurrency > 0 && stats.keyInFlight(name) >= config.proxyKeyConcurrency {
                    replyError(request, .proxyKeyBusy(limit: config.proxyKeyConcurrency))
                    return (route, 429)
                }
                stats.keyStarted(name)
                proxyKey = name
            }
            inFlight += 1
            ProxyExchange(proxy: self, request: request, route: route, upstream: upstream, upstreamNamed: upstreamNamed,
                          proxyKey: proxyKey).start()
            return nil
        case .health:
            replyJSON(request, 200, Array(#"{"status":"ok"}"#.utf8))
            return (route, 200)
        case .ready:
            if isDraining {
                replyJSON(request, 503, Array(#"{"status":"draining"}"#.utf8))
                return (route, 503)
            }
            replyJSON(request, 200, Array(#"{"status":"ready"}"#.utf8))
            return (route, 200)
        case .status:
            // A browser gets the page, everyone else the JSON (which the page fetches).
            if let accept = request.header("Accept"), accept.contains("text/html") {
                request.reply(status: 200, headers: StatusPage.headers, body: StatusPage.html)
            } else {
                replyJSON(request, 200, statusBody())
            }
            return (route, 200)
        case .adminCacheClear:
            return clearCache(request)
        case .metrics:
            request.reply(status: 200, headers: [("Content-Type", "text/plain; version=0.0.4; charset=utf-8")], body: metricsBody())
            return (route, 200)
        case .notFound:
            replyError(request, .notFound(String(request.target.prefix { $0 != "?" })))
            return (route, 404)
        case .methodNotAllowed:
            replyError(request, .methodNotAllowed(request.method, String(request.target.prefix { $0 != "?" })))
            return (route, 405)
        case .badPath:
            replyError(request, .badRequest("the path holds a dot segment, a byte outside printable ASCII, a backslash or a '#'"))
            return (route, 400)
        }
    }

    func replyJSON(_ request: InboundRequest, _ status: Int, _ body: [UInt8], close: Bool = false) {
        var headers = [("Content-Type", "application/json")]
        if close { headers.append(("Connection", "close")) }
        request.reply(status: status, headers: headers, body: body)
    }

    /// Answers with thinkback's own error: its OpenAI-shaped body, a `thinkback-error` header
    /// saying where it came from and whether a retry is allowed, and a log line. Returns the
    /// body's size.
    @discardableResult
    func replyError(_ request: InboundRequest, _ error: ProxyError, requestID: String? = nil, close: Bool = false,
                    headers extra: [(name: String, value: String)] = []) -> Int {
        var metadata: Logger.Metadata = [
            "status": "\(error.status)", "code": "\(error.code)",
            "origin": "\(error.origin.rawValue)", "retryable": "\(error.isRetryable)",
        ]
        if let requestID { metadata["request_id"] = "\(requestID)" }
        if error.origin == .client {
            logger.info("error reply", metadata: metadata)
        } else {
            // The provider's or our own trouble, with its detail (curl's words); a client's
            // request is never quoted.
            metadata["error"] = "\(error.message)"
            logger.log(level: error.origin == .upstream ? .warning : .info, "error reply", metadata: metadata)
        }
        var headers = [("Content-Type", "application/json"), (ProxyError.headerName, error.headerValue)]
        if close { headers.append(("Connection", "close")) }
        if error.status == 429 { headers.append(("Retry-After", "1")) }
        headers += extra.map { ($0.name, $0.value) }
        let body = error.body(for: Route.isAnthropicPath(request.target) ? .anthropic : .openAI)
        request.reply(status: error.status, headers: headers, body: body)
        return body.count
    }

    /// What the chart counts: requests served, messages restored, messages missed.
    private var historyTotals: [Int] {
        [stats.sum(.served), stats.sum(.restored), stats.sum(.misses)]
    }

    /// One upstream and its policy in force, for the status JSON.
    private func upstreamJSON(_ u: UpstreamConfig, lane: Int, _ t: StatsBoard.Totals) -> String {
        let requests = t.requests(lane: lane).filter { $0.route.api != nil }.reduce(0) { $0 + Int($1.count) }
        let fixes = ChatHygiene.Fix.allCases.reduce(0) { $0 + t.fixes($1, lane: lane) }
        let counts = "{\"requests\":\(requests),\"restored\":\(t[.restored, lane: lane]),\"misses\":\(t[.misses, lane: lane])," +
            "\"auto_retries\":\(t[.autoRetries, lane: lane]),\"refused_dropped\":\(t[.refusedDrops, lane: lane]),\"fixes\":\(fixes)}"
        let hygiene = UpstreamPreset.Hygiene.names.filter { u.effectiveHygiene.contains($0.1) }.map { JSONText.string($0.0) }
        return "{\"name\":\(JSONText.string(u.name)),\"default\":\(u.name == config.defaultUpstream.name)," +
            "\"preset\":\(JSONText.string(u.preset.name)),\"base_url\":\(JSONText.string(u.preset.baseURL))," +
            "\"anthropic_base_url\":\(config.anthropicBaseURL(for: u).map { JSONText.string($0) } ?? "null")," +
            "\"restore\":\"\(config.restoreScope(for: u).rawValue)\",\"placeholder\":\(JSONText.string(config.placeholder(for: u)))," +
            "\"models\":[\(u.models.map { JSONText.string($0) }.joined(separator: ","))]," +
            "\"hygiene\":[\(hygiene.joined(separator: ","))],\"rescue\":\(u.effectiveRescue),\"counts\":\(counts)}"
    }

    func statusBody() -> [UInt8] {
        publishLevels()
        let t = stats.total()
        var out: [UInt8] = []
        func field(_ name: String, _ value: String, quoted: Bool = true, last: Bool = false) {
            JSONText.appendString(name, to: &out)
            out.append(UInt8(ascii: ":"))
            if quoted { JSONText.appendString(value, to: &out) } else { out.append(contentsOf: value.utf8) }
            if !last { out.append(UInt8(ascii: ",")) }
        }
        out.append(UInt8(ascii: "{"))
        field("name", "thinkback")
        field("version", ThinkbackVersion.string)
        field("state", isDraining ? "draining" : "serving")
        field("uptime_seconds", String((loop.nowMs - startedMs) / 1000), quoted: false)
        // Under --workers: the worker answering; every count below is all the workers'.
        field("worker", String(worker?.index ?? 0), quoted: false)
        field("workers", String(worker?.count ?? 1), quoted: false)
        out.append(contentsOf: #""upstream":{"#.utf8)
        field("name", config.upstream.name)
        field("base_url", config.upstream.baseURL)
        field("anthropic_base_url", config.anthropicBaseURL.map { JSONText.string($0) } ?? "null", quoted: false, last: true)
        out.append(contentsOf: "},".utf8)
        out.append(contentsOf: #""upstreams":["#.utf8)
        out.append(contentsOf: config.upstreams.enumerated().map { upstreamJSON($0.element, lane: $0.offset, t) }.joined(separator: ",").utf8)
        out.append(contentsOf: "],".utf8)
        out.append(contentsOf: #""in_flight":{"#.utf8)
        field("requests", String(t[.inFlight]), quoted: false)
        field("streams", String(t[.streaming]), quoted: false)
        field("stream_queued_bytes", String(t[.streamQueuedBytes]), quoted: false, last: true)
        out.append(contentsOf: "},".utf8)
        out.append(contentsOf: #""connections":{"#.utf8)
        field("accept_pauses", String(t[.acceptPauses]), quoted: false, last: true)
        out.append(contentsOf: "},".utf8)
        field("served", String(t[.served]), quoted: false)
        out.append(contentsOf: restorer.statusJSON(t).utf8)
        out.append(contentsOf: #","history":{"interval_seconds":1"#.utf8)
        for (i, name) in ["requests", "restored", "misses"].enumerated() {
            out.append(contentsOf: ",\"\(name)\":[".utf8)
            out.append(contentsOf: history.series(i).map(String.init).joined(separator: ",").utf8)
            out.append(UInt8(ascii: "]"))
        }
        out.append(contentsOf: "}}".utf8)
        return out
    }
}
