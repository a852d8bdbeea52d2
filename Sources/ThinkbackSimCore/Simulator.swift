/// The simulated provider: takes one HTTP request, returns what to send back. Pure: no I/O, no
/// clock but `SimConfig.now`, no randomness but the seed.
///
/// Routes:
/// - `POST /v1/chat/completions`, `POST /chat/completions` — OpenAI format (MiMo, DeepSeek, Kimi).
/// - `POST /anthropic/v1/messages`, `POST /v1/messages` — Anthropic format.
/// - `GET /v1/models`, `GET /models` — the MiMo models.
/// - `GET /sim/stats` — the fidelity ledger and request counters (JSON, no auth).
/// - `POST /sim/reset` — clears the counters, the fault attempt counts and the body ring;
///   `?all=1` also forgets the issued reasoning.
/// - `GET /sim/last?n=N` — the raw bytes of the N-th last chat request body (N = 1: newest;
///   20 kept).
/// - anything else: 404 with a JSON error.
///
/// Chat routes need `Authorization: Bearer K` or `api-key: K` (Anthropic routes also
/// `x-api-key: K`); the key K is the tenant of the ledger. Per-request knobs: ``SimKnobs``.
///
/// Not thread-safe: use one instance from one thread (the server's loop).
public final class Simulator {
    /// The configuration it was made with.
    public let config: SimConfig
    var ledger: FidelityLedger
    var stats = SimStats()
    var ring = RequestRing(capacity: 20)
    /// Attempts seen per `x-sim-fault-id`.
    var faultAttempts: [String: Int] = [:]
    /// Responses generated so far; numbers each response (never reset, so reasoning stays unique).
    var serial = 0

    /// A simulator with `config`.
    public init(config: SimConfig = SimConfig()) {
        self.config = config
        self.ledger = FidelityLedger(capacity: config.ledgerCapacity, placeholderTexts: config.placeholderTexts)
    }

    /// Answers one request.
    public func handle(_ request: SimRequest) -> SimResponse {
        stats.requests += 1
        switch (request.method.uppercased(), request.path) {
        case ("POST", "/v1/chat/completions"), ("POST", "/chat/completions"):
            return chat(request, api: .openAI)
        case ("POST", "/anthropic/v1/messages"), ("POST", "/v1/messages"):
            return chat(request, api: .anthropic)
        case ("POST", "/v1/embeddings"), ("POST", "/embeddings"):
            return embeddings(request)
        case ("POST", "/anthropic/v1/messages/count_tokens"), ("POST", "/v1/messages/count_tokens"):
            return countTokens(request)
        case (_, let path) where path.hasPrefix("/v1/echo/") || path.hasPrefix("/anthropic/v1/echo/"):
            return echo(request)
        case ("GET", "/v1/models"), ("GET", "/models"):
            return models(request)
        case ("GET", "/sim/stats"):
            return Self.json(200, statsJSON)
        case ("POST", "/sim/reset"):
            reset(forgetIssued: request.queryItem("all").map { $0 == "1" || $0 == "true" } ?? false)
            return Self.json(200, ["reset": true])
        case ("GET", "/sim/last"):
            return lastBody(request)
        default:
            let anthropic = request.path.hasPrefix("/anthropic")
            let message = "Not found: \(request.method) \(request.path)"
            return Self.full(
                404,
                anthropic
                    ? ProviderErrors.anthropic(type: "not_found_error", message: message)
                    : ProviderErrors.openAI(message: message, type: "not_found_error", code: "404"))
        }
    }

    /// The ledger totals of assistant messages with tool calls (and textualized ones).
    public var ledgerTotals: LedgerCounts { ledger.toolCallTotals }

    /// The ledger totals of assistant messages without tool calls.
    public var plainLedgerTotals: LedgerCounts { ledger.plainTotals }

    /// The tool-call ledger of one tenant.
    public func ledgerTotals(tenant: String) -> LedgerCounts { ledger.toolCallByTenant[tenant] ?? LedgerCounts() }

    /// The classification of every assistant message of `tenant`'s last chat request.
    public func lastVerdicts(tenant: String) -> [LedgerVerdict] { ledger.lastVerdicts[tenant] ?? [] }

    /// How many chat requests ended with `verdict` (`accepted`, a ``RefusalKind`` raw value,
    /// `unauthorized`, `knob_error`, `fault_status`, `fast`).
    public func verdictCount(_ verdict: String) -> Int { stats.verdicts[verdict] ?? 0 }

    /// Clears counters, fault attempts and the body ring; with `forgetIssued`, the issued
    /// reasoning too (the response serial keeps counting).
    public func reset(forgetIssued: Bool = false) {
        ledger.reset(forgetIssued: forgetIssued)
        stats = SimStats()
        faultAttempts = [:]
        ring.removeAll()
    }

    // MARK: - Response helpers

    static let jsonHeaders = [("Content-Type", "application/json")]
    static let sseHeaders = [("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache")]

    static func full(_ status: Int, _ body: String, headers: [(String, String)] = jsonHeaders) -> SimResponse {
        .full(status: status, headers: headers, body: Array(body.utf8))
    }

    static func json(_ status: Int, _ body: SimJSON) -> SimResponse {
        .full(status: status, headers: jsonHeaders, body: body.bytes)
    }

    /// A whole body, as `.full` or, when the knobs ask for timing or faults, as a one-piece `.stream`.
    static func deliver(_ status: Int, headers: [(String, String)], body: [UInt8], knobs: SimKnobs) -> SimResponse {
        let plan = knobs.plan
        if plan.isTrivial { return .full(status: status, headers: headers, body: body) }
        return .stream(status: status, headers: headers, events: [body], plan: plan)
    }
}
