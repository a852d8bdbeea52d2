/// One upstream thinkback serves (docs/product.md §8): its name — the path prefix that chooses
/// it (`/NAME/v1/chat/completions`) and the `upstream` label of its metrics — its preset's facts,
/// and what the user set for it alone (`--upstream-set NAME.KEY=VALUE`). The global flags
/// (`--restore`, `--placeholder`, `--thinking`, …) sit between the two: an upstream's own
/// setting wins over them, and they win over its preset's.
public struct UpstreamConfig: Sendable, Equatable {
    public var name: String
    public var preset: UpstreamPreset
    public var anthropicUpstream: String?
    public var restoreScope: UpstreamPreset.RestoreScope?
    public var placeholder: String?
    public var thinkingOverrides: [String: Bool] = [:]
    public var thinkingDefault: Bool?
    /// Model names (a trailing `*` matches any rest) that choose this upstream for requests
    /// without a path prefix.
    public var models: [String] = []
    public var hygiene: UpstreamPreset.Hygiene?
    public var rescue: Bool?
    /// More wordings of the refusal (`--upstream-set NAME.refusal=TEXT`, repeatable).
    public var refusals: [String] = []

    public init(name: String, preset: UpstreamPreset) {
        self.name = name
        self.preset = preset
    }

    /// The keys `--upstream-set NAME.KEY=VALUE` takes.
    public static let keys = ["anthropic", "restore", "placeholder", "thinking", "thinking-default", "models",
                              "hygiene", "rescue", "refusal"]

    /// Applies `--upstream-set NAME.KEY=VALUE`'s `KEY=VALUE`.
    public mutating func set(_ key: String, _ value: String) throws {
        let what = "--upstream-set \(name).\(key)"
        switch key {
        case "anthropic":
            guard value.hasPrefix("http://") || value.hasPrefix("https://") else {
                throw ConfigError("\(what) wants an http(s):// base URL, got '\(value)'")
            }
            var base = value
            while base.hasSuffix("/") { base.removeLast() }
            anthropicUpstream = base
        case "restore":
            guard let scope = UpstreamPreset.RestoreScope(rawValue: value) else { throw ConfigError("\(what): tool-calls or all, got '\(value)'") }
            restoreScope = scope
        case "placeholder":
            placeholder = value
        case "thinking":
            for item in value.split(separator: ",") {
                let parts = item.split(separator: "=", maxSplits: 1).map { $0.trimmingSpaces }
                guard parts.count == 2, !parts[0].isEmpty, let on = Config.onOff(parts[1]) else {
                    throw ConfigError("\(what) wants MODEL=on|off[,MODEL=on|off…], got '\(value)'")
                }
                thinkingOverrides[parts[0]] = on
            }
        case "thinking-default":
            guard let on = Config.onOff(value) else { throw ConfigError("\(what) wants on or off, got '\(value)'") }
            thinkingDefault = on
        case "models":
            models = value.split(separator: ",").map { $0.trimmingSpaces }.filter { !$0.isEmpty }
        case "hygiene":
            var set: UpstreamPreset.Hygiene = []
            for item in value.split(separator: ",").map({ $0.trimmingSpaces }) where item != "none" && !item.isEmpty {
                if item == "all" { set = .all; continue }
                guard let fix = UpstreamPreset.Hygiene.names.first(where: { $0.0 == item })?.1 else {
                    throw ConfigError("\(what): none, all, or a list of \(UpstreamPreset.Hygiene.names.map(\.0).joined(separator: ", ")), got '\(item)'")
                }
                set.insert(fix)
            }
            hygiene = set
        case "rescue":
            guard let on = Config.onOff(value) else { throw ConfigError("\(what) wants on or off, got '\(value)'") }
            rescue = on
        case "refusal":
            guard !value.isEmpty else { throw ConfigError("\(what) wants a wording") }
            refusals.append(value)
        default:
            throw ConfigError("--upstream-set: unknown key '\(key)' (keys: \(Self.keys.joined(separator: ", ")))")
        }
    }

    /// Whether this upstream's model patterns take `model`.
    public func takes(model: String) -> Bool {
        models.contains { pattern in
            pattern.hasSuffix("*") ? model.hasPrefix(pattern.dropLast()) : model == pattern
        }
    }

    /// The request fixes in force.
    public var effectiveHygiene: UpstreamPreset.Hygiene { hygiene ?? preset.hygiene }
    /// Whether leaked tool calls are rescued.
    public var effectiveRescue: Bool { rescue ?? preset.rescue }
    /// Every wording `auto` and the refusal learning recognise for this upstream.
    public var refusalWordings: [String] { preset.refusals + refusals }

    /// Names a user may not give an upstream: the first path segments thinkback answers itself.
    public static let reservedNames: Set<String> = ["v1", "anthropic", "admin", "metrics", "health", "ready", "status", "chat"]

    /// Whether `name` can name an upstream (a path segment: lower-case letters, digits, `-`, `_`).
    public static func isValidName(_ name: String) -> Bool {
        guard let first = name.utf8.first, name.utf8.count <= 64, !reservedNames.contains(name) else { return false }
        func ok(_ b: UInt8) -> Bool { (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) || b == UInt8(ascii: "-") || b == UInt8(ascii: "_") }
        return ok(first) && first != UInt8(ascii: "-") && name.utf8.allSatisfy(ok)
    }
}
