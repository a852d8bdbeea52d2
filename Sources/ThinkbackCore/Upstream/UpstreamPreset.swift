/// What thinkback knows about one provider: where it lives and how it behaves in thinking mode.
/// docs/provider-protocol.md is the source of every value here.
public struct UpstreamPreset: Sendable, Equatable {
    public enum RestoreScope: String, Sendable { case toolCalls = "tool-calls", all }

    /// The request fixes a provider needs (docs/product.md §8), each applied only where the
    /// upstream's preset (or the user) says so.
    public struct Hygiene: OptionSet, Sendable, Hashable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }
        /// MiMo: `content: null` (or no `content`) on an assistant message with tool calls → `""`.
        public static let assistantContentNull = Hygiene(rawValue: 1)
        /// MiMo: a `tool` message whose content is a list of parts → their joined text.
        public static let toolContentList = Hygiene(rawValue: 2)
        /// DeepSeek, Kimi in thinking mode: a forced `tool_choice` (`"required"`, a named
        /// function) → `"auto"`.
        public static let forcedToolChoice = Hygiene(rawValue: 4)

        public static let mimo: Hygiene = [.assistantContentNull, .toolContentList]
        public static let all: Hygiene = [.assistantContentNull, .toolContentList, .forcedToolChoice]
        /// The names `--upstream-set NAME.hygiene=` takes.
        public static let names: [(String, Hygiene)] = [
            ("content-null", .assistantContentNull), ("tool-content-list", .toolContentList), ("tool-choice", .forcedToolChoice),
        ]
    }

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
    /// The fixes its requests get (§8).
    public var hygiene: Hygiene
    /// Whether tool calls leaked into the reasoning are turned into real ones (§9).
    public var rescue: Bool
    /// The provider's own wordings of the "reasoning must be passed back" refusal, beside the
    /// ones `RefusalRecognizer` always knows.
    public var refusals: [String]

    public init(name: String, baseURL: String, anthropicBaseURL: String? = nil,
                thinkingOff: Set<String> = [], thinkingDefault: Bool = true,
                placeholder: String = " ", restoreScope: RestoreScope = .toolCalls,
                hygiene: Hygiene = [], rescue: Bool = false, refusals: [String] = []) {
        self.name = name
        self.baseURL = baseURL
        self.anthropicBaseURL = anthropicBaseURL
        self.thinkingOff = thinkingOff
        self.thinkingDefault = thinkingDefault
        self.placeholder = placeholder
        self.restoreScope = restoreScope
        self.hygiene = hygiene
        self.rescue = rescue
        self.refusals = refusals
    }

    /// Whether a model thinks when the request does not say (`thinking.type` overrides).
    public func thinksByDefault(model: String) -> Bool {
        thinkingOff.contains(model) ? false : thinkingDefault
    }
}

extension UpstreamPreset {
    private static let mimoRefusal = "The reasoning_content in the thinking mode must be passed back to the API."

    private static func mimo(name: String, host: String) -> UpstreamPreset {
        UpstreamPreset(name: name, baseURL: "https://\(host)/v1", anthropicBaseURL: "https://\(host)/anthropic",
                       thinkingOff: ["mimo-v2-flash"], hygiene: .mimo, rescue: true, refusals: [mimoRefusal])
    }

    public static let mimo = mimo(name: "mimo", host: "api.xiaomimimo.com")
    /// Token Plan: China, Singapore and Amsterdam hosts, each with `/v1` and `/anthropic`.
    public static let mimoTokenPlan = mimo(name: "mimo-token-plan", host: "token-plan-cn.xiaomimimo.com")
    public static let mimoTokenPlanSGP = mimo(name: "mimo-token-plan-sgp", host: "token-plan-sgp.xiaomimimo.com")
    public static let mimoTokenPlanAMS = mimo(name: "mimo-token-plan-ams", host: "token-plan-ams.xiaomimimo.com")
    /// Cloudsway MaaS (MiMo): `/v1/chat/completions` with the model named in the body; with an
    /// endpoint path (`cloudsway:PATH`) `/v1/ai/PATH/chat/completions` and `/PATH/v1/messages`.
    public static let cloudsway = UpstreamPreset(
        name: "cloudsway", baseURL: "https://genaiapi.cloudsway.net/v1",
        anthropicBaseURL: "https://genaiapi.cloudsway.net", hygiene: .mimo, rescue: true, refusals: [mimoRefusal])
    // DeepSeek's validator wants the field on every assistant message once thinking is on, and
    // refuses a forced tool_choice in thinking mode.
    public static let deepseek = UpstreamPreset(
        name: "deepseek", baseURL: "https://api.deepseek.com",
        anthropicBaseURL: "https://api.deepseek.com/anthropic", restoreScope: .all, hygiene: .forcedToolChoice,
        refusals: ["The `reasoning_content` in the thinking mode must be passed back to the API.",
                   "Missing `reasoning_content` field in the assistant message",
                   "The `content[].thinking` in the thinking mode must be passed back to the API."])
    // Kimi K2.5/K2.6 refuse "" as reasoning but accept " "; thinking mode refuses a forced
    // tool_choice.
    public static let kimi = UpstreamPreset(
        name: "kimi", baseURL: "https://api.moonshot.ai/v1",
        anthropicBaseURL: "https://api.moonshot.ai/anthropic", placeholder: " ", hygiene: .forcedToolChoice,
        refusals: ["thinking is enabled but reasoning_content is missing in assistant tool call message"])
    public static let kimiCN = UpstreamPreset(
        name: "kimi-cn", baseURL: "https://api.moonshot.cn/v1",
        anthropicBaseURL: "https://api.moonshot.cn/anthropic", placeholder: " ", hygiene: .forcedToolChoice,
        refusals: kimi.refusals)

    public static let all: [UpstreamPreset] = [
        .mimo, .mimoTokenPlan, .mimoTokenPlanSGP, .mimoTokenPlanAMS, .cloudsway, .deepseek, .kimi, .kimiCN,
    ]

    /// A preset by name (`cloudsway:PATH` for a Cloudsway endpoint path), or a generic
    /// OpenAI-compatible upstream for an `http(s)://` base URL.
    public static func resolve(_ nameOrURL: String) -> UpstreamPreset? {
        if let preset = all.first(where: { $0.name == nameOrURL }) { return preset }
        if nameOrURL.hasPrefix("cloudsway:") {
            let path = nameOrURL.dropFirst("cloudsway:".count).split(separator: "/").joined(separator: "/")
            guard !path.isEmpty, path.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "?") && $0 != UInt8(ascii: "#") }),
                  !path.split(separator: "/").contains(where: { $0 == "." || $0 == ".." }) else { return nil }
            var preset = cloudsway
            preset.baseURL = "https://genaiapi.cloudsway.net/v1/ai/\(path)"
            preset.anthropicBaseURL = "https://genaiapi.cloudsway.net/\(path)"
            return preset
        }
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
