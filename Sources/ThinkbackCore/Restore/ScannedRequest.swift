/// A request body as its wire format's adapter scanned it: the one seam between the proxy
/// and the restore core's two adapters (`ChatRestore`, `AnthropicRestore`).
public enum ScannedRequest: Sendable {
    case chat(ChatRequestScan)
    case anthropic(AnthropicRequestScan)

    /// Scans `body` as the format of `api`.
    public static func scan(_ body: UnsafeRawBufferPointer, api: Route.API) throws(ChatRequestScanError) -> ScannedRequest {
        switch api {
        case .openAI: return .chat(try ChatRequestScan(body))
        case .anthropic: return .anthropic(try AnthropicRequestScan(body))
        }
    }

    public var model: String? {
        switch self {
        case .chat(let s): s.model
        case .anthropic(let s): s.model
        }
    }

    public var stream: Bool? {
        switch self {
        case .chat(let s): s.stream
        case .anthropic(let s): s.stream
        }
    }

    /// `thinking.type`: `enabled`, `disabled`, (Anthropic) `adaptive`.
    public var thinkingType: String? {
        switch self {
        case .chat(let s): s.thinkingType
        case .anthropic(let s): s.thinkingType
        }
    }

    public func plan(body: UnsafeRawBufferPointer, scope: UpstreamPreset.RestoreScope, builder: KeyBuilder) -> RestorePlan {
        switch self {
        case .chat(let s): ChatRestore.plan(s, body: body, scope: scope, builder: builder)
        case .anthropic(let s): AnthropicRestore.plan(s, body: body, scope: scope, builder: builder)
        }
    }

    /// The edits and decisions; `issuer`: the upstream's identity for signed thinking.
    public func outcome(body: UnsafeRawBufferPointer, pending: [RestorePending], found: [[StoredReasoning?]],
                        policy: RestorePolicy, issuer: String) -> RestoreOutcome {
        switch self {
        case .chat(let s): ChatRestore.outcome(s, body: body, pending: pending, found: found, policy: policy)
        case .anthropic(let s):
            AnthropicRestore.outcome(s, body: body, pending: pending, found: found, policy: policy, issuer: issuer)
        }
    }
}
