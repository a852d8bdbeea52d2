/// The per-request knobs, read from `x-sim-*` request headers over the ``SimConfig`` defaults.
///
/// Header names are case-insensitive. A knob with a value that does not parse is answered
/// with a 400 whose error `type` is `sim_knob_error` (never mistaken for a provider refusal).
/// Booleans take `1`/`0`, `true`/`false`, `yes`/`no`, `on`/`off`.
///
/// Timing (how the answer is delivered; see ``SimStreamPlan``):
/// - `x-sim-ttfb-ms: N` — wait N ms before the status line (default `SimConfig.firstByteDelayMs`).
/// - `x-sim-interval-ms: X` — wait X ms between stream events (default `SimConfig.eventIntervalMs`).
/// - `x-sim-events-per-sec: R` — the same as an event rate (interval = 1000 / R); wins over
///   `x-sim-interval-ms` when both are sent.
/// - `x-sim-fragment: N` — bytes of text per stream fragment (default `SimConfig.fragmentSize`);
///   with `x-sim-astral`, UTF-16 code units per reasoning fragment.
/// - `x-sim-reasoning-length: N` — approximate characters of reasoning (default
///   `SimConfig.reasoningLength`).
///
/// Faults:
/// - `x-sim-drop-after: N` — close the connection after N events (N = 0: after the headers).
/// - `x-sim-stall-after: N` — after N events, send nothing more and keep the connection open.
/// - `x-sim-hold-end-ms: N` — after the last event (`[DONE]`), wait N ms before ending the
///   response (the terminating chunk).
/// - `x-sim-status: S` — answer status S (400–599, e.g. 503 or 429) with an error body
///   instead of a model answer (before any validation or ledger work).
/// - `x-sim-retry-after: N` — with `x-sim-status`, add `Retry-After: N`.
/// - `x-sim-hang-up: 1` — close the connection once the request is read, sending nothing.
/// - `x-sim-fail-times: N` with `x-sim-fault-id: ID` — the faults above apply only to the first
///   N requests carrying that id (counted per id until `POST /sim/reset`); later attempts are
///   answered normally. Without `x-sim-fail-times` the faults apply to every request; without
///   `x-sim-fault-id` all requests share one counter.
///
/// Provider behaviour:
/// - `x-sim-flavor: mimo|deepseek|kimi` — impersonate another provider for this request.
/// - `x-sim-empty-placeholder: accept|refuse` — whether `""` reasoning is accepted.
/// - `x-sim-placeholders: accept|refuse` — whether whitespace-only reasoning on a tool-call
///   message is accepted.
/// - `x-sim-hygiene: strict|off` — MiMo's `content: null` / list-typed `tool` content refusals.
/// - `x-sim-sse-errors: 1` — frame the 400 of a `stream: true` request as SSE.
/// - `x-sim-error-variant: alt` — the refusal's other reported shape (MiMo with `"type":""`;
///   DeepSeek without backticks and with `"param":""`).
/// - `x-sim-interleaved: on`, `x-sim-redacted: on`, `x-sim-thinking-display: omitted` —
///   Anthropic answers with a thinking block before each tool call, with a `redacted_thinking`
///   block, with thinking text left out (a signature only).
/// - `x-sim-block-order: text-first` — Anthropic non-stream content as Cloudsway documents
///   it: text first, thinking last, `signature` before `thinking` (default `thinking-first`).
///
/// Scripted model:
/// - `x-sim-tool-calls: 0|1|2` — how many parallel tool calls to make when the model would call
///   tools (0: answer directly). Default: one or two, from the seed.
/// - `x-sim-tool-ids: openai|kimi` — OpenAI-route tool-call ids: `call_…` (default
///   `SimConfig.toolIDs`) or Kimi's `functions.NAME:IDX`, numbered from 0 in every answer.
/// - `x-sim-repeat-calls: 1` — whenever the model calls tools it makes the same calls (tools,
///   count, arguments from the seed and the offered tools only; content empty); the reasoning
///   and the ids still differ per answer (default `SimConfig.repeatCalls`).
/// - `x-sim-astral: 1` — reasoning with astral-plane characters, the response's JSON written
///   with every non-ASCII character escaped (`\ud83d\ude00`), and stream reasoning cut every
///   `x-sim-fragment` UTF-16 code units, so that surrogate pairs are split between two events
///   (default `SimConfig.astral`).
/// - `x-sim-leak-tool-call: 1` — write the tool call inside the reasoning in Qwen3-XML form
///   (`<tool_call>…</tool_call>`) instead of `tool_calls`, as MiMo's FAQ admits it does.
/// - `x-sim-fast: 1|0` — canned answer without validation or ledger (default `SimConfig.fast`).
public struct SimKnobs: Sendable, Equatable {
    /// `x-sim-ttfb-ms`: delay before the status line, ms.
    public var firstByteDelayMs: Int
    /// `x-sim-interval-ms` / `x-sim-events-per-sec`: delay between events, ms.
    public var eventIntervalMs: Double
    /// `x-sim-fragment`: bytes of text per stream fragment.
    public var fragmentSize: Int
    /// `x-sim-reasoning-length`: approximate characters of reasoning.
    public var reasoningLength: Int
    /// `x-sim-drop-after`: close the connection after this many events.
    public var dropAfterEvents: Int?
    /// `x-sim-stall-after`: go silent after this many events.
    public var stallAfterEvents: Int?
    /// `x-sim-hold-end-ms`: wait this long after the last event before ending the response.
    public var holdEndMs: Int = 0
    /// `x-sim-status`: answer this status with an error body instead of a model answer.
    public var status: Int?
    /// `x-sim-hang-up`: close the connection once the request is read, sending nothing.
    public var hangUp = false
    /// `x-sim-retry-after`: the `Retry-After` value sent with `status`.
    public var retryAfter: String?
    /// `x-sim-fail-times`: faults apply to the first N attempts of `faultID` only.
    public var failTimes: Int?
    /// `x-sim-fault-id`: the id attempts are counted under.
    public var faultID: String?
    /// `x-sim-flavor`: the provider impersonated.
    public var flavor: SimFlavor
    /// `x-sim-empty-placeholder`: whether `""` reasoning is accepted where required.
    public var emptyPlaceholderAccepted: Bool
    /// `x-sim-placeholders`: whether whitespace-only reasoning on a tool-call message is accepted.
    public var placeholdersAccepted: Bool
    /// `x-sim-refuse-unissued`: refuse a history whose tool-call message carries reasoning this
    /// simulator did not issue to it (as a provider that checks what comes back would).
    public var refuseUnissued = false
    /// `x-sim-leak-tool-calls: xml|json`: write a share of the tool calls into the reasoning
    /// instead of `tool_calls` (MiMo's admitted defect, product.md §9), in the Qwen3-XML or the
    /// JSON template; `x-sim-leak-share: P` leaks P% of the answers with calls (default 100).
    public var leakToolCalls: String?
    public var leakSharePercent = 100
    /// `x-sim-hygiene`: MiMo's `content: null` / list-typed `tool` content refusals.
    public var strictHygiene: Bool
    /// `x-sim-sse-errors`: frame a `stream: true` request's 400 as SSE.
    public var sseErrors: Bool
    /// `x-sim-error-variant: alt`: the refusal's other reported shape.
    public var alternateErrorShape: Bool
    /// `x-sim-block-order: text-first`: Cloudsway's Anthropic block layout.
    public var textBlockFirst: Bool
    /// `x-sim-interleaved`: Anthropic answers with several tool calls get a thinking block
    /// before each (interleaved thinking).
    public var interleavedThinking: Bool
    /// `x-sim-redacted`: Anthropic answers carry a `redacted_thinking` block too.
    public var redactedThinking: Bool
    /// `x-sim-thinking-display: omitted`: thinking blocks arrive as `"thinking": ""` with a
    /// signature.
    public var omittedThinking: Bool
    /// `x-sim-tool-calls`: parallel tool calls to make (nil: one or two, from the seed).
    public var toolCallCount: Int?
    /// `x-sim-tool-ids`: how OpenAI-route tool-call ids look.
    public var toolIDs: SimToolIDs
    /// `x-sim-repeat-calls`: the same tool calls in every answer that calls tools.
    public var repeatCalls: Bool
    /// `x-sim-astral`: astral reasoning, ASCII-only JSON, surrogate pairs split in streams.
    public var astral: Bool
    /// `x-sim-leak-tool-call`: write the tool call inside the reasoning (Qwen3-XML).
    public var leakToolCall: Bool
    /// `x-sim-fast`: canned answer, no validation, no ledger.
    public var fast: Bool

    /// The knobs of a request that sends no `x-sim-*` header.
    public init(config: SimConfig) {
        firstByteDelayMs = config.firstByteDelayMs
        eventIntervalMs = config.eventIntervalMs
        fragmentSize = config.fragmentSize
        reasoningLength = config.reasoningLength
        dropAfterEvents = nil
        stallAfterEvents = nil
        status = nil
        retryAfter = nil
        failTimes = nil
        faultID = nil
        flavor = config.flavor
        emptyPlaceholderAccepted = config.emptyPlaceholderAccepted
        placeholdersAccepted = config.placeholdersAccepted
        strictHygiene = config.strictHygiene
        sseErrors = config.sseErrors
        alternateErrorShape = false
        textBlockFirst = false
        interleavedThinking = false
        redactedThinking = false
        omittedThinking = false
        toolCallCount = nil
        toolIDs = config.toolIDs
        repeatCalls = config.repeatCalls
        astral = config.astral
        leakToolCall = false
        fast = config.fast
    }

    /// The knobs of `request`: its `x-sim-*` headers over the defaults of `config`.
    public static func parse(_ request: SimRequest, config: SimConfig) throws(SimKnobError) -> SimKnobs {
        var k = SimKnobs(config: config)
        var eventsPerSecond: Double?
        var emptyPlaceholderSet: Bool?   // an explicit x-sim-empty-placeholder wins over the flavor
        for (rawName, rawValue) in request.headers {
            let name = rawName.lowercased()
            guard name.hasPrefix("x-sim-") else { continue }
            let value = rawValue.trimmingSpaces
            func bad() -> SimKnobError { SimKnobError(header: name, value: rawValue) }
            func int(_ range: ClosedRange<Int>) throws(SimKnobError) -> Int {
                guard let n = Int(value), range.contains(n) else { throw bad() }
                return n
            }
            func double() throws(SimKnobError) -> Double {
                guard let d = Double(value), d.isFinite, d >= 0 else { throw bad() }
                return d
            }
            func bool() throws(SimKnobError) -> Bool {
                switch value.lowercased() {
                case "1", "true", "yes", "on", "accept", "strict": return true
                case "0", "false", "no", "off", "refuse": return false
                default: throw bad()
                }
            }
            switch name {
            case "x-sim-ttfb-ms": k.firstByteDelayMs = try int(0...3_600_000)
            case "x-sim-interval-ms": k.eventIntervalMs = try double()
            case "x-sim-events-per-sec":
                let r = try double()
                guard r > 0 else { throw bad() }
                eventsPerSecond = r
            case "x-sim-fragment": k.fragmentSize = try int(1...1_000_000)
            case "x-sim-reasoning-length": k.reasoningLength = try int(0...10_000_000)
            case "x-sim-drop-after": k.dropAfterEvents = try int(0...Int.max)
            case "x-sim-stall-after": k.stallAfterEvents = try int(0...Int.max)
            case "x-sim-hold-end-ms": k.holdEndMs = try int(0...600_000)
            case "x-sim-status": k.status = try int(400...599)
            case "x-sim-hang-up":
                guard value == "1" else { throw bad() }
                k.hangUp = true
            case "x-sim-retry-after":
                guard Int(value).map({ $0 >= 0 }) == true else { throw bad() }
                k.retryAfter = value
            case "x-sim-fail-times": k.failTimes = try int(0...Int.max)
            case "x-sim-fault-id":
                guard !value.isEmpty else { throw bad() }
                k.faultID = value
            case "x-sim-flavor":
                guard let f = SimFlavor(rawValue: value.lowercased()) else { throw bad() }
                k.flavor = f
                // The flavor brings its own default (Kimi refuses ""), unless the request says.
                if emptyPlaceholderSet == nil { k.emptyPlaceholderAccepted = f != .kimi }
            case "x-sim-empty-placeholder":
                let v = try bool()
                k.emptyPlaceholderAccepted = v
                emptyPlaceholderSet = v
            case "x-sim-placeholders": k.placeholdersAccepted = try bool()
            case "x-sim-refuse-unissued": k.refuseUnissued = try bool()
            case "x-sim-leak-tool-calls":
                guard value == "xml" || value == "json" || value == "off" else { throw bad() }
                k.leakToolCalls = value == "off" ? nil : value
            case "x-sim-leak-share":
                k.leakSharePercent = try int(0...100)
            case "x-sim-hygiene": k.strictHygiene = try bool()
            case "x-sim-sse-errors": k.sseErrors = try bool()
            case "x-sim-error-variant":
                switch value.lowercased() {
                case "alt": k.alternateErrorShape = true
                case "default", "": k.alternateErrorShape = false
                default: throw bad()
                }
            case "x-sim-block-order":
                switch value.lowercased() {
                case "text-first": k.textBlockFirst = true
                case "thinking-first": k.textBlockFirst = false
                default: throw bad()
                }
            case "x-sim-interleaved": k.interleavedThinking = try bool()
            case "x-sim-redacted": k.redactedThinking = try bool()
            case "x-sim-thinking-display":
                switch value.lowercased() {
                case "omitted": k.omittedThinking = true
                case "summarized", "full": k.omittedThinking = false
                default: throw bad()
                }
            case "x-sim-tool-calls": k.toolCallCount = try int(0...2)
            case "x-sim-tool-ids":
                guard let ids = SimToolIDs(rawValue: value.lowercased()) else { throw bad() }
                k.toolIDs = ids
            case "x-sim-repeat-calls": k.repeatCalls = try bool()
            case "x-sim-astral": k.astral = try bool()
            case "x-sim-leak-tool-call": k.leakToolCall = try bool()
            case "x-sim-fast": k.fast = try bool()
            default: throw SimKnobError(header: name, value: rawValue, unknown: true)
            }
        }
        if let eventsPerSecond { k.eventIntervalMs = 1000 / eventsPerSecond }
        if let v = emptyPlaceholderSet { k.emptyPlaceholderAccepted = v }
        return k
    }

    /// Whether any fault knob (status, hang-up, drop, stall) is set.
    public var hasFault: Bool { status != nil || hangUp || dropAfterEvents != nil || stallAfterEvents != nil }

    /// These knobs with every fault knob cleared (an attempt past `x-sim-fail-times`).
    public var withoutFaults: SimKnobs {
        var k = self
        k.status = nil
        k.hangUp = false
        k.retryAfter = nil
        k.dropAfterEvents = nil
        k.stallAfterEvents = nil
        return k
    }

    /// The delivery plan these knobs ask for.
    public var plan: SimStreamPlan {
        SimStreamPlan(
            firstByteDelayMs: firstByteDelayMs, eventIntervalMs: eventIntervalMs,
            dropAfterEvents: dropAfterEvents, stallAfterEvents: stallAfterEvents, holdEndMs: holdEndMs)
    }
}

/// An `x-sim-*` header the simulator does not understand.
public struct SimKnobError: Error, Sendable, Equatable {
    /// The header name, lowercased.
    public var header: String
    /// The value as sent.
    public var value: String
    /// True when the header name itself is unknown.
    public var unknown = false

    /// A human-readable description.
    public var message: String {
        unknown ? "sim: unknown knob \(header)" : "sim: bad value for \(header): \(value)"
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
