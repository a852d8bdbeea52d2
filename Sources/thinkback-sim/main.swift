import Logging
import ThinkbackCore
import ThinkbackRuntime
import ThinkbackSimCore
#if canImport(Glibc)
import Glibc
#endif

// thinkback-sim: a strict, faithful MiMo/DeepSeek/Kimi simulator served on thinkback's own
// event loop. The rules, the scripted model and the ledger are in ThinkbackSimCore; this file
// is the transport: it plays each response's plan (first-byte delay, pacing, faults).

let simOptions: [ConfigOption] = [
    ConfigOption(flag: "listen", help: "address:port (default 127.0.0.1:8900; port 0 picks one)") { _, _ in },
    ConfigOption(flag: "flavor", help: "mimo, deepseek or kimi: error wording and rules (default mimo)") { _, _ in },
    ConfigOption(flag: "seed", help: "seed of the scripted model (default 1)") { _, _ in },
    ConfigOption(flag: "fast", help: "on: canned answers without validation or ledger, for load tests (default off)") { _, _ in },
    ConfigOption(flag: "refuse-empty", help: "on: refuse \"\" as reasoning, like Kimi K2.5/K2.6 (default off)") { _, _ in },
    ConfigOption(flag: "refuse-placeholders", help: "on: refuse whitespace-only reasoning too (default off)") { _, _ in },
    ConfigOption(flag: "tool-ids", help: "openai or kimi: tool-call ids call_… or functions.NAME:IDX (default openai)") { _, _ in },
    ConfigOption(flag: "repeat-calls", help: "on: the same tool calls in every answer that calls tools (default off)") { _, _ in },
    ConfigOption(flag: "astral", help: "on: astral reasoning, ASCII-only JSON, surrogate pairs split across stream events (default off)") { _, _ in },
    ConfigOption(flag: "ttfb-ms", help: "default time to first byte (default 0)") { _, _ in },
    ConfigOption(flag: "interval-ms", help: "default spacing of stream events (default 0)") { _, _ in },
    ConfigOption(flag: "fragment", help: "bytes of text per stream fragment (default 12)") { _, _ in },
    ConfigOption(flag: "reasoning-length", help: "approximate characters of reasoning per answer (default 400)") { _, _ in },
]

func simConfig(_ flags: [String: String]) throws -> (SimConfig, String, UInt16) {
    func int(_ name: String) throws -> Int? {
        guard let v = flags[name] else { return nil }
        guard let n = Int(v), n >= 0 else { throw ConfigError("--\(name) wants a whole number ≥ 0") }
        return n
    }
    func on(_ name: String) -> Bool? {
        flags[name].map { $0 == "on" || $0 == "true" || $0 == "1" }
    }
    var flavor = SimFlavor.mimo
    if let f = flags["flavor"] {
        guard let parsed = SimFlavor(rawValue: f) else { throw ConfigError("--flavor: mimo, deepseek or kimi") }
        flavor = parsed
    }
    // Flavor-dependent defaults come from SimConfig's initializer.
    var config = SimConfig(flavor: flavor, emptyPlaceholderAccepted: on("refuse-empty").map { !$0 },
                           placeholdersAccepted: !(on("refuse-placeholders") ?? false))
    if let s = try int("seed") { config.seed = UInt64(s) }
    if let v = flags["tool-ids"] {
        guard let ids = SimToolIDs(rawValue: v) else { throw ConfigError("--tool-ids: openai or kimi") }
        config.toolIDs = ids
    }
    if let v = on("fast") { config.fast = v }
    if let v = on("repeat-calls") { config.repeatCalls = v }
    if let v = on("astral") { config.astral = v }
    if let v = try int("ttfb-ms") { config.firstByteDelayMs = v }
    if let v = try int("interval-ms") { config.eventIntervalMs = Double(v) }
    if let v = try int("fragment") { config.fragmentSize = max(1, v) }
    if let v = try int("reasoning-length") { config.reasoningLength = v }
    var host = "127.0.0.1"
    var port: UInt16 = 8900
    if let listen = flags["listen"] {
        guard let colon = listen.lastIndex(of: ":"), let p = UInt16(listen[listen.index(after: colon)...]) else {
            throw ConfigError("--listen wants HOST:PORT")
        }
        host = String(listen[..<colon])
        port = p
    }
    return (config, host, port)
}

/// Counts what the transport saw, for tests: `GET /sim/transport`.
final class TransportStats {
    var streamsStarted = 0
    var streamsCompleted = 0
    var streamsDropped = 0
    var clientsGone = 0
    var eventsSent = 0
    var active = 0

    var json: [UInt8] {
        Array(("{\"streams_started\":\(streamsStarted),\"streams_completed\":\(streamsCompleted)," +
               "\"streams_dropped\":\(streamsDropped),\"clients_gone\":\(clientsGone)," +
               "\"events_sent\":\(eventsSent),\"active\":\(active)}").utf8)
    }
}

/// Plays one stream response: first-byte delay, pacing, drop and stall faults, backpressure.
final class StreamPlayer {
    let request: InboundRequest
    let events: [[UInt8]]
    let plan: SimStreamPlan
    let stats: TransportStats
    var next = 0
    var timer: LoopTimer?
    var done = false
    var heldEnd = false
    /// The head waits for the first-byte delay, so a silent upstream is silent on the wire too.
    var head: (status: Int, headers: [(name: String, value: String)])?

    init(loop: EventLoop, request: InboundRequest, events: [[UInt8]], plan: SimStreamPlan, stats: TransportStats) {
        self.request = request
        self.events = events
        self.plan = plan
        self.stats = stats
        timer = LoopTimer(loop: loop) { [unowned self] in self.tick() }
    }

    func start(status: Int, headers: [(String, String)]) {
        stats.streamsStarted += 1
        stats.active += 1
        request.onGone = { [self] in
            stats.clientsGone += 1
            finish()
        }
        request.onDrain = { [self] in tick() }
        request.watch()
        head = (status, headers.map { (name: $0.0, value: $0.1) })
        timer?.arm(milliseconds: UInt64(max(0, plan.firstByteDelayMs)))
    }

    private func tick() {
        guard !done else { return }
        if let h = head {
            head = nil
            request.startStream(status: h.status, headers: h.headers, slots: 8, queueBytes: 64 << 10)
        }
        while next < events.count {
            if let drop = plan.dropAfterEvents, next >= drop {
                stats.streamsDropped += 1
                request.abort()
                finish()
                return
            }
            if let stall = plan.stallAfterEvents, next >= stall { return }   // until the client leaves
            if request.streamFull { return }                                  // onDrain resumes
            let ok = events[next].withUnsafeBytes { request.streamWrite($0) }
            if !ok { return }
            next += 1
            stats.eventsSent += 1
            if plan.eventIntervalMs > 0 && next < events.count {
                timer?.arm(milliseconds: UInt64(max(1, plan.eventIntervalMs.rounded())))
                return
            }
        }
        if plan.holdEndMs > 0 && !heldEnd {
            heldEnd = true
            timer?.arm(milliseconds: UInt64(plan.holdEndMs))
            return
        }
        stats.streamsCompleted += 1
        request.endStream()
        finish()
    }

    private func finish() {
        if done { return }
        done = true
        stats.active -= 1
        timer?.cancel()
        request.onGone = nil
        request.onDrain = nil
        // Break the cycle player -> timer -> closure -> player once the stack unwinds.
        let t = timer
        timer = nil
        _ = t
    }
}

let outcome: CommandLineParser.Outcome
do {
    outcome = try CommandLineParser.parse(Array(CommandLine.arguments.dropFirst()), options: simOptions)
} catch {
    printError("thinkback-sim: \(error)")
    exit(2)
}
guard case .run(let flags) = outcome else {
    if outcome == .version { print("thinkback-sim \(ThinkbackVersion.string)") } else {
        print(CommandLineParser.usage(command: "thinkback-sim",
                                      summary: "thinkback-sim — a strict simulator of the MiMo API (see Sources/ThinkbackSimCore/KNOBS.md).",
                                      options: simOptions))
    }
    exit(0)
}

LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
let logger = Logger(label: "thinkback-sim")
do {
    let (config, host, port) = try simConfig(flags)
    let loop = try EventLoop()
    let simulator = Simulator(config: config)
    let stats = TransportStats()
    let server = try HTTPServer(loop: loop, options: .init(host: host, port: port, maxBodyBytes: 256 << 20)) { request in
        let target = request.target
        let path = String(target.prefix { $0 != "?" })
        if path == "/sim/transport" {
            request.reply(status: 200, headers: [("Content-Type", "application/json")], body: stats.json)
            return
        }
        var headers: [(name: String, value: String)] = []
        request.forEachHeader { k, v in headers.append((String(cString: k), String(cString: v))) }
        let query = target.firstIndex(of: "?").map { String(target[target.index(after: $0)...]) }
        let simRequest = SimRequest(method: request.method, path: path, query: query, headers: headers,
                                    body: Array(request.body))
        switch simulator.handle(simRequest) {
        case let .full(status, headers, body):
            request.reply(status: status, headers: headers.map { (name: $0.0, value: $0.1) }, body: body)
        case let .stream(status, headers, events, plan):
            StreamPlayer(loop: loop, request: request, events: events, plan: plan, stats: stats)
                .start(status: status, headers: headers)
        case .hangUp:
            request.abort()
        }
    }
    let signals = [SIGINT, SIGTERM].map { LoopSignal(loop: loop, signal: $0) { loop.stop() } }
    logger.notice("listening", metadata: ["address": "\(host):\(server.port)", "flavor": "\(config.flavor)"])
    loop.run()
    _ = signals
    exit(0)
} catch {
    logger.critical("cannot start: \(error)")
    exit(1)
}
