/// Whether thinking is on for a request: the model's default, overridden by the request's
/// `thinking.type` (docs/provider-protocol.md, "Thinking mode").
public enum ThinkingDefaults {
    /// The model's default: on for `mimo-v2.5-pro`, `mimo-v2.5`, `mimo-v2-pro`, `mimo-v2-omni`,
    /// `deepseek-v4-*`, `kimi-k2*` and any unknown model (Cloudsway documents `enabled` as the
    /// default); off for `mimo-v2-flash`.
    public static func isOnByDefault(model: String) -> Bool {
        model.lowercased() != "mimo-v2-flash"
    }

    /// Kimi's `kimi-k2-thinking*` models think whatever the request says.
    public static func alwaysThinks(model: String) -> Bool {
        model.lowercased().hasPrefix("kimi-k2-thinking")
    }

    /// Whether thinking is on for `model` given the request's `thinking` member (if any).
    public static func isOn(model: String, thinking: SimJSON?) -> Bool {
        if alwaysThinks(model: model) { return true }
        switch thinking?["type"]?.stringValue {
        case "enabled": return true
        case "disabled": return false
        default: return isOnByDefault(model: model)
        }
    }

    /// The MiMo models `GET /v1/models` lists.
    public static let mimoModels = ["mimo-v2.5-pro", "mimo-v2.5", "mimo-v2-pro", "mimo-v2-omni", "mimo-v2-flash"]
}
