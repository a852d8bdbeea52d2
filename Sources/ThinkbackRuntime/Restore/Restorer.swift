import Logging
import ThinkbackCore

/// The proxy's restoration state: the store, the tenant keying, `auto`'s memory and the
/// counters. Loop thread only; the decisions are `ChatRestore`'s and `RestorePlanner`'s.
final class Restorer {
    let store: any ReasoningStore
    /// Holds answers' last bytes until their captures are committed.
    let gate: CommitGate
    var config: Config
    private let tenantHasher: TenantHasher?
    var placeholderMemory: PlaceholderRefusalMemory
    /// The counters (product.md §3: every miss and fallback counted), shared by the workers.
    let stats: StatsBoard
    let logger: Logger
    private let wallClock = SystemStoreClock()

    init(config: Config, loop: EventLoop, environment: [String: String], logger: Logger, stats: StatsBoard = StatsBoard(slots: 1)) throws {
        self.config = config
        self.stats = stats
        self.logger = logger
        placeholderMemory = PlaceholderRefusalMemory(lifetimeMs: UInt64(config.placeholderMemorySeconds) * 1000)
        func stateDirectory() throws -> String {
            guard let dir = StateDirectory.resolve(flag: config.stateDirectory, environment: environment) else {
                throw RuntimeError("no state directory: set --state-dir (or HOME, XDG_STATE_HOME)")
            }
            try StateFiles.ensureDirectory(dir)
            return dir
        }
        store = try StoreFactory.make(config: config, loop: loop, logger: logger, workers: stats.slots, stateDirectory: stateDirectory)
        gate = CommitGate(store: store, loop: loop, timeoutMs: UInt64(config.commitTimeoutMs))
        switch config.tenantMode {
        case .single:
            tenantHasher = nil
        case .credential:
            tenantHasher = TenantHasher(secret: try StateFiles.tenantSecret(directory: try stateDirectory()))
        }
        gate.onCounted = { [unowned self] in self.publishGate() }
    }

    /// The tenant of a request: a keyed hash of its credential (`Authorization: Bearer K` or
    /// `api-key: K`), or the single tenant. `nil`: no credential, nothing to restore or record.
    func tenant(of request: InboundRequest) -> TenantID? {
        guard tenantHasher != nil else { return .single }
        return Self.credential(of: request).flatMap { tenant(forCredential: $0) }
    }

    /// The tenant of a client that presented the proxy key named `name` (`--proxy-keys on`).
    func tenant(forProxyKey name: String) -> TenantID? {
        guard tenantHasher != nil else { return .single }
        return tenant(forCredential: Substring("proxy-key\u{0}" + name))
    }

    /// The credential a request carries: `Authorization: Bearer K`, else `api-key` (Azure-style,
    /// MiMo), else `x-api-key` (Anthropic's SDK, Claude Code).
    static func credential(of request: InboundRequest) -> Substring? {
        if let auth = request.header("Authorization") {
            var credential = Substring(auth)
            if credential.lowercased().hasPrefix("bearer ") { credential = credential.dropFirst(7) }
            while credential.first == " " { credential = credential.dropFirst() }
            if !credential.isEmpty { return credential }
        }
        for name in ["api-key", "x-api-key"] {
            if let key = request.header(name), !key.isEmpty { return Substring(key) }
        }
        return nil
    }

    /// Recently seen credentials and their tenants: the HMAC runs once per client key, not
    /// once per request. Bounded; emptied when full (keys stay in this process's memory only).
    private var recentTenants: [Substring: TenantID] = [:]

    private func tenant(forCredential credential: Substring) -> TenantID? {
        guard let hasher = tenantHasher else { return .single }
        if let known = recentTenants[credential] { return known }
        let tenant = hasher.tenant(forCredential: Array(credential.utf8))
        if recentTenants.count >= 4096 { recentTenants.removeAll(keepingCapacity: true) }
        recentTenants[credential] = tenant
        return tenant
    }

    /// The policy for one request.
    /// Whether the request thinks: its `thinking.type`, else the model's default at `u`.
    func thinks(model: String, thinkingType: String?, upstream u: UpstreamConfig) -> Bool {
        switch thinkingType {
        // Anthropic's `adaptive`: the model decides per turn, so any turn may carry thinking.
        case "enabled"?, "adaptive"?: return true
        case "disabled"?: return false
        default: return config.thinksByDefault(model: model, upstream: u)
        }
    }

    func policy(model: String?, thinkingType: String?, upstream: String, nowMs: UInt64,
                for u: UpstreamConfig? = nil) -> RestorePolicy {
        let u = u ?? config.defaultUpstream
        let name = model ?? ""
        let thinking = thinks(model: name, thinkingType: thinkingType, upstream: u)
        return RestorePolicy(
            scope: config.restoreScope(for: u), strategy: config.miss,
            placeholder: Array(config.placeholder(for: u).utf8), thinking: thinking,
            placeholdersRefused: placeholderMemory.refusesPlaceholders(upstream: upstream, model: name, nowMs: nowMs))
    }

    /// What a request's restoration did, as its `thinkback-restore` header says it.
    struct Summary {
        var restored = 0
        var misses = 0
        /// The strategies the misses went to, in first-use order.
        var strategies: [MissStrategy] = []
    }

    /// Counts and logs what a request's restoration did (message indexes, never content).
    @discardableResult
    func account(_ outcome: RestoreOutcome, requestID: String, policy: RestorePolicy, lane: Int = 0) -> Summary {
        var restoredHere = 0
        var missesHere = 0
        var missed: [(index: Int, strategy: MissStrategy)] = []
        for (index, action) in outcome.actions {
            let fallback: MissStrategy?
            switch action {
            case .restore(_, let kind):
                restoredHere += 1
                switch kind {
                case .context: stats.add(.hitsContext, lane: lane)
                case .toolCall, .toolCallContent: stats.add(.hitsToolCallID, lane: lane)
                case .content: stats.add(.hitsContent, lane: lane)
                }
                continue
            // A miss left as it is: harmless without thinking, else `passthrough`.
            case .untouched: fallback = policy.thinking ? .passthrough : nil
            case .placeholder: fallback = .placeholder
            case .textualize: fallback = .textualize
            case .strip: fallback = .strip
            case .reject: fallback = .reject
            }
            stats.add(.misses, lane: lane)
            missesHere += 1
            if let fallback {
                stats.addFallback(fallback, lane: lane)
                missed.append((index, fallback))
            }
        }
        stats.add(.restored, restoredHere, lane: lane)
        if restoredHere > 0 { stats.add(.requestsRestored, lane: lane) }
        publishStatistics()
        if !missed.isEmpty { logMisses(requestID, missed, restored: restoredHere) }
        var summary = Summary(restored: restoredHere, misses: missesHere)
        for m in missed where !summary.strategies.contains(m.strategy) { summary.strategies.append(m.strategy) }
        return summary
    }

    /// One line per request however many messages missed (a line each cost as much as the
    /// rest of the request): their count, the strategies used and the first message indexes.
    private func logMisses(_ requestID: String, _ missed: [(index: Int, strategy: MissStrategy)], restored: Int) {
        guard logger.logLevel <= .notice else { return }
        var strategies: [MissStrategy] = []
        for m in missed where !strategies.contains(m.strategy) { strategies.append(m.strategy) }
        var indexes = missed.prefix(Self.loggedMissIndexes).map { String($0.index) }.joined(separator: ",")
        if missed.count > Self.loggedMissIndexes { indexes += ",…" }
        logger.notice("reasoning misses", metadata: [
            "request_id": "\(requestID)", "misses": "\(missed.count)", "restored": "\(restored)",
            "strategy": "\(strategies.map(\.rawValue).joined(separator: ","))", "message_indexes": "\(indexes)"])
    }

    static let loggedMissIndexes = 16

    /// Records the final message of each choice of a successful response (product.md §1),
    /// keyed by `history`, the digest of the request's messages. With `restore = tool-calls`
    /// only answers with tool calls can ever be looked up, so plain answers are not stored
    /// (most answers: a store write saved per request). Returns whether anything was stored.
    func record(_ choices: [CapturedChoice], tenant: TenantID, history: SHA256Digest,
                scope: UpstreamPreset.RestoreScope? = nil, lane: Int = 0) -> Bool {
        // Wall-clock: the capture time is stored, and expiry is judged by other processes too.
        let nowMs = wallClock.nowMilliseconds()
        let builder = KeyBuilder(tenant: tenant)
        let plainToo = (scope ?? config.effectiveRestoreScope) == .all
        var stored = false
        for choice in choices where plainToo || !choice.toolCalls.isEmpty {
            let (value, keys) = ChatRestore.record(choice, history: history, builder: builder, nowMs: nowMs)
            store.insert(value, for: keys)
            stats.add(.captured, lane: lane)
            stored = true
        }
        if stored { publishStatistics() }
        return stored
    }

    /// Records an Anthropic answer's thinking (issue 19), under the same rule: with
    /// `restore = tool-calls` only answers with `tool_use` blocks. `issuer`: the upstream that
    /// signed its thinking.
    func record(_ message: CapturedAnthropicMessage, issuer: String, tenant: TenantID, history: SHA256Digest,
                scope: UpstreamPreset.RestoreScope? = nil, lane: Int = 0) -> Bool {
        guard (scope ?? config.effectiveRestoreScope) == .all || !message.toolUses.isEmpty else { return false }
        let (value, keys) = AnthropicRestore.record(message, issuer: issuer, history: history,
                                                    builder: KeyBuilder(tenant: tenant), nowMs: wallClock.nowMilliseconds())
        store.insert(value, for: keys)
        stats.add(.captured, lane: lane)
        publishStatistics()
        return true
    }

    /// Counts the request fixes applied to one request.
    func countFixes(_ fixes: [ChatHygiene.Fix], lane: Int = 0) {
        for fix in fixes { stats.addFix(fix, lane: lane) }
    }

    /// The provider refused a request carrying the values under `keys`: they are never sent
    /// again (the ambiguity marker over every key of those messages, until it expires), by
    /// this worker or another (`StatsBoard.announce`: their hot tiers mark them too).
    func dropRefused(keys: [CacheKey], messages: Int, lane: Int = 0) {
        guard !keys.isEmpty else { return }
        store.insert(.ambiguityMarker(storedAtMilliseconds: wallClock.nowMilliseconds()), for: keys)
        for key in keys { stats.announce(.forget(key)) }
        stats.add(.refusedDrops, messages, lane: lane)
        publishStatistics()
    }

    /// This worker's view of the store and of its commits, on the board for every worker's
    /// status and scrape: after lookups, inserts and commits, and before a status is drawn.
    func publishStatistics() {
        stats.publish(store: store.statistics)
        publishGate()
    }

    /// The commit gate's counts, on the board (each time one changes).
    func publishGate() {
        let g = gate.counters
        stats.mirror(.held, g.held)
        stats.mirror(.committed, g.committed)
        stats.mirror(.timeouts, g.timeouts)
        stats.mirror(.commitFailures, g.failures)
    }

    /// `"cache":{…},"restore":{…}` for the status endpoint: every worker's counts (`t`).
    func statusJSON(_ t: StatsBoard.Totals) -> String {
        let s = t.store
        let fallbacks = MissStrategy.allCases.filter { $0 != .auto }
            .map { "\"\($0.rawValue)\":\(t.fallbacks($0))" }.joined(separator: ",")
        return "\"cache\":{\"store\":\"\(config.store.name)\",\"store_state\":\"\(s.degraded ? "degraded" : "ok")\"," +
            "\"store_failures\":\(s.failures),\"entries\":\(s.entries),\"keys\":\(s.keys),\"bytes\":\(s.bytes)," +
            "\"hits\":\(s.hits),\"misses\":\(s.misses),\"evictions\":\(s.evictions),\"expirations\":\(s.expirations)," +
            "\"ambiguous\":\(s.ambiguous)}," +
            "\"restore\":{\"scope\":\"\(config.effectiveRestoreScope.rawValue)\",\"miss\":\"\(config.miss.rawValue)\"," +
            "\"requests_scanned\":\(t[.requestsScanned]),\"requests_restored\":\(t[.requestsRestored])," +
            "\"restored\":\(t[.restored]),\"hits_context\":\(t[.hitsContext]),\"hits_tool_call_id\":\(t[.hitsToolCallID]),\"hits_content\":\(t[.hitsContent])," +
            "\"misses\":\(t[.misses]),\"fallbacks\":{\(fallbacks)},\"auto_retries\":\(t[.autoRetries])," +
            "\"fixes\":{\(ChatHygiene.Fix.allCases.map { "\"\($0.rawValue)\":\(t.fixes($0))" }.joined(separator: ","))},\"rescued\":\(t[.rescued]),\"refused_dropped\":\(t[.refusedDrops]),\"rejected\":\(t[.rejected]),\"invalid_json\":\(t[.invalidJSON]),\"captured\":\(t[.captured])," +
            "\"capture_skipped\":\(t[.captureSkipped]),\"commit\":{\"held\":\(t[.held]),\"committed\":\(t[.committed])," +
            "\"timeouts\":\(t[.timeouts]),\"failures\":\(t[.commitFailures])}}"
    }
}
