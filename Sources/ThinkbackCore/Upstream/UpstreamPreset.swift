/// What thinkback knows about one provider: where it lives and how it behaves in thinking mode.
/// docs/provider-protocol.md is the source of every value here.
public struct UpstreamPreset: Sendable, Equatable {
    public enum RestoreScope: String, Sendable { case toolCalls = "tool-calls", all }

    public var name: String
    /// What a client would put in an SDK's `base_url`: route paths (`/chat/completions`,
    /// `/models`) are appended to it.
    public var baseURL: String
    /// The Anthropic-compatible base (`…/anthropic`), when the provider has one.
    public var anthropicBaseURL: String?
    /// Models whose thinking is on by default; `thinkingDefault` for the rest.
    public var thinkingOff: Set<String>
    public var thinkingDefault: Bool
    /// Reasoning text sent on a miss under the `placeholder` strategy.
    public var placeholder: String
    public var restoreScope: RestoreScope

    public init(name: String, baseURL: String, anthropicBaseURL: String? = nil,
                thinkingOff: Set<String> = [], thinkingDefault: Bool = true,
                placeholder: String = " ", restoreScope: RestoreScope = .toolCalls) {
        self.name = name
        self.baseURL = baseURL
        self.anthropicBaseURL = anthropicBaseURL
        self.thinkingOff = thinkingOff
        self.thinkingDefault = thinkingDefault
        self.placeholder = placeholder
        self.restoreScope = restoreScope
    }

    /// Whether a model thinks when the request does not say (`thinking.type` overrides).
    public func thinksByDefault(model: String) -> Bool {
        thinkingOff.contains(model) ? false : thinkingDefault
    }
}

extension UpstreamPreset {
    public static let mimo = UpstreamPreset(
        name: "mimo", baseURL: "https://api.xiaomimimo.com/v1",
        anthropicBaseURL: "https://api.xiaomimimo.com/anthropic", thinkingOff: ["mimo-v2-flash"])
    public static let mimoTokenPlan = UpstreamPreset(
        name: "mimo-token-plan", baseURL: "https://token-plan-cn.xiaomimimo.com/v1",
        anthropicBaseURL: "https://token-plan-cn.xiaomimimo.com/anthropic", thinkingOff: ["mimo-v2-flash"])
    public static let cloudsway = UpstreamPreset(
        name: "cloudsway", baseURL: "https://genaiapi.cloudsway.net/v1",
        anthropicBaseURL: "https://genaiapi.cloudsway.net")
    // DeepSeek's validator wants the field on every assistant message once thinking is on.
    public static let deepseek = UpstreamPreset(
        name: "deepseek", baseURL: "https://api.deepseek.com",
        anthropicBaseURL: "https://api.deepseek.com/anthropic", restoreScope: .all)
    // Kimi K2.5/K2.6 refuse "" as reasoning but accept " ".
    public static let kimi = UpstreamPreset(
        name: "kimi", baseURL: "https://api.moonshot.ai/v1",
        anthropicBaseURL: "https://api.moonshot.ai/anthropic")

    public static let all: [UpstreamPreset] = [.mimo, .mimoTokenPlan, .cloudsway, .deepseek, .kimi]

    /// A preset by name, or a generic OpenAI-compatible upstream for an `http(s)://` base URL.
    public static func resolve(_ nameOrURL: String) -> UpstreamPreset? {
        if let preset = all.first(where: { $0.name == nameOrURL }) { return preset }
        guard nameOrURL.hasPrefix("http://") || nameOrURL.hasPrefix("https://") else { return nil }
        var base = nameOrURL
        while base.hasSuffix("/") { base.removeLast() }
        return UpstreamPreset(name: "custom", baseURL: base, anthropicBaseURL: anthropicBase(besides: base))
    }

    /// The Anthropic-compatible base beside an OpenAI-compatible one, as MiMo, DeepSeek and
    /// Kimi place it: `…/v1` → `…/anthropic`, else the base + `/anthropic`.
    public static func anthropicBase(besides base: String) -> String {
        (base.hasSuffix("/v1") ? String(base.dropLast(3)) : base) + "/anthropic"
    }
}
