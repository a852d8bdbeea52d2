import Foundation

/// Which provider the simulator impersonates: its refusal wording and which assistant
/// messages must carry their reasoning back (docs/provider-protocol.md, table of providers).
public enum SimFlavor: String, Sendable, CaseIterable {
    /// Xiaomi MiMo: assistant messages with tool calls need `reasoning_content`; refusal
    /// `{"error":{"message":"Param Incorrect","param":"…must be passed back…","code":"400"}}`.
    case mimo
    /// DeepSeek V4: every assistant message needs `reasoning_content` once thinking is on.
    case deepseek
    /// Kimi K2.x: assistant tool-call messages; the refusal names the message index, and `""`
    /// is refused by default.
    case kimi
}

/// How the OpenAI route names tool calls.
public enum SimToolIDs: String, Sendable, CaseIterable {
    /// `call_` + 24 hex digits, a new id for every call (MiMo, DeepSeek).
    case openai
    /// `functions.NAME:IDX`, IDX the call's position in its answer from 0, so one id names
    /// different calls in one conversation (Kimi on some hosts; provider-protocol.md "Later facts").
    case kimi
}

/// Process-wide settings of a ``Simulator``. Every member has a default; per-request
/// `x-sim-*` headers (see ``SimKnobs``) override the ones that have a header.
public struct SimConfig: Sendable {
    /// Provider to impersonate. Default `.mimo`.
    public var flavor: SimFlavor
    /// Whether `""` is accepted as `reasoning_content` where reasoning is required. When false
    /// (Kimi K2.5/K2.6), `""` gets the "must be passed back" 400; `" "` is always accepted.
    /// Default: false for `.kimi`, true otherwise.
    public var emptyPlaceholderAccepted: Bool
    /// When false, a whitespace-only reasoning (`""`, `" "`, …) on a tool-call message is
    /// refused with the same "must be passed back" 400, to exercise thinkback's `auto` fallback.
    /// Default true.
    public var placeholdersAccepted: Bool
    /// MiMo's request hygiene: refuse `content: null` on an assistant message with tool calls
    /// and list-typed `tool` message content. Default: true for `.mimo`, false otherwise.
    public var strictHygiene: Bool
    /// How OpenAI-route tool-call ids look (`x-sim-tool-ids`). Default `.openai`; the
    /// Anthropic route always writes `toolu_…` ids.
    public var toolIDs: SimToolIDs
    /// Make the same tool calls in every answer that calls tools (`x-sim-repeat-calls`): an
    /// agent repeating a call, which content alone cannot tell apart. Default false.
    public var repeatCalls: Bool
    /// Astral mode (`x-sim-astral`): reasoning with emoji beyond the BMP, JSON written
    /// ASCII-only, and stream reasoning cut on UTF-16 code units so that surrogate pairs are
    /// split between events. Default false.
    public var astral: Bool
    /// Seed of the scripted model. Same seed and same request sequence give the same bytes.
    public var seed: UInt64
    /// Bytes of text per stream fragment (cut on Unicode scalar boundaries); in astral mode,
    /// UTF-16 code units per reasoning fragment (cut anywhere). Default 12.
    public var fragmentSize: Int
    /// Approximate characters of reasoning per response. Default 400.
    public var reasoningLength: Int
    /// Canned mode for load tests: no validation and no ledger, a fixed answer served quickly
    /// (still a valid response of the requested kind, stream or not).
    public var fast: Bool
    /// Default delay before the first byte of every response, in milliseconds. Default 0.
    public var firstByteDelayMs: Int
    /// Default delay between stream events, in milliseconds. Default 0.
    public var eventIntervalMs: Double
    /// Frame the 400 of a `stream: true` request as SSE (`data: {…}\n\n`), as has been seen
    /// from MiMo. Default false.
    public var sseErrors: Bool
    /// Most issued responses the fidelity ledger remembers (oldest forgotten first).
    public var ledgerCapacity: Int
    /// Reasoning texts the ledger counts as "placeholder" besides empty and whitespace-only
    /// (product.md §3: "the configured placeholder text").
    public var placeholderTexts: [String]
    /// The clock for `created` fields, in Unix seconds.
    public var now: @Sendable () -> Int

    /// A configuration; every parameter is defaulted (see each member).
    public init(
        flavor: SimFlavor = .mimo,
        emptyPlaceholderAccepted: Bool? = nil,
        placeholdersAccepted: Bool = true,
        strictHygiene: Bool? = nil,
        toolIDs: SimToolIDs = .openai,
        repeatCalls: Bool = false,
        astral: Bool = false,
        seed: UInt64 = 0x5EED,
        fragmentSize: Int = 12,
        reasoningLength: Int = 400,
        fast: Bool = false,
        firstByteDelayMs: Int = 0,
        eventIntervalMs: Double = 0,
        sseErrors: Bool = false,
        ledgerCapacity: Int = 100_000,
        placeholderTexts: [String] = [],
        now: @escaping @Sendable () -> Int = { Int(Date().timeIntervalSince1970) }
    ) {
        self.flavor = flavor
        self.emptyPlaceholderAccepted = emptyPlaceholderAccepted ?? (flavor != .kimi)
        self.placeholdersAccepted = placeholdersAccepted
        self.strictHygiene = strictHygiene ?? (flavor == .mimo)
        self.toolIDs = toolIDs
        self.repeatCalls = repeatCalls
        self.astral = astral
        self.seed = seed
        self.fragmentSize = max(1, fragmentSize)
        self.reasoningLength = max(0, reasoningLength)
        self.fast = fast
        self.firstByteDelayMs = max(0, firstByteDelayMs)
        self.eventIntervalMs = max(0, eventIntervalMs)
        self.sseErrors = sseErrors
        self.ledgerCapacity = max(1, ledgerCapacity)
        self.placeholderTexts = placeholderTexts
        self.now = now
    }
}
