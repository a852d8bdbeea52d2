/// Everything a user can set, with the defaults thinkback runs on (docs/product.md §7).
/// One place: CLI flags and `THINKBACK_*` variables both land here (see `ConfigOption`).
public struct Config: Sendable {
    public var listenHost = "127.0.0.1"
    public var listenPort: UInt16 = 8899
    /// `--upstream`, repeatable (product.md §8): every upstream served, each chosen by its
    /// name as a path prefix; `defaultUpstream` gets the requests without one.
    public var upstreams: [UpstreamConfig] = [UpstreamConfig(name: "mimo", preset: .mimo)]
    /// `--default-upstream`: the index in `upstreams` of the one requests without a prefix go to.
    public var defaultUpstreamIndex = 0
    /// `--anthropic-upstream`: overrides the default upstream's Anthropic-compatible base.
    public var anthropicUpstream: String?
    /// The default upstream.
    public var defaultUpstream: UpstreamConfig { upstreams[defaultUpstreamIndex] }
    /// The default upstream's preset.
    public var upstream: UpstreamPreset { defaultUpstream.preset }
    /// Where the default upstream's `/anthropic/v1/…` and `/v1/messages` go; nil: no such API.
    public var anthropicBaseURL: String? { anthropicBaseURL(for: defaultUpstream) }
    public var maxBodyBytes = 32 * 1024 * 1024
    public var maxHeaderBytes = 64 * 1024
    public var clientIdleTimeoutSeconds = 120
    /// A connection's first request head (through its empty line) must arrive within this.
    public var clientHeaderTimeoutSeconds = 10
    public var clientBodyTimeoutSeconds = 30
    public var connectTimeoutMs = 10_000
    /// Non-stream answers arrive whole after the model finished thinking: keep this long.
    public var firstByteTimeoutMs = 600_000
    /// A stream's first chunk comes at once from every provider (the thinking streams too):
    /// a stalled stream is ended within a minute, not ten.
    public var streamFirstByteTimeoutMs = 60_000
    /// The largest whole (non-stream) answer collected; beyond it, 502.
    public var maxResponseBytes = 64 * 1024 * 1024
    /// A stream that sends nothing for this long is cut.
    public var streamIdleTimeoutSeconds = 300
    public var retry = RetryPolicy()
    public var drainTimeoutSeconds = 30
    /// SSE chunks queued per stream before the upstream transfer is paused.
    public var streamSlots = 16
    /// Bytes queued for one slow stream client before the upstream is paused (a high
    /// watermark; it resumes below a quarter of it).
    public var streamQueueBytes = 64 << 10
    /// curl's receive buffer for a request that asks for a stream (`"stream": true`). curl
    /// holds it for the transfer's whole life, so an idle stream pays for it; SSE events are
    /// far smaller. Other answers keep curl's 16 KiB (fewer reads for big bodies).
    public var streamBufferBytes = 1024
    public var http2 = true
    public var logLevel = "info"
    public var accessLog = true
    /// `--log-format json`: every log line, access lines included, one JSON object.
    public var logJSON = false
    /// `--proxy-keys on`: clients must present a key from `<state-dir>/proxy-keys`
    /// (`thinkback keys add NAME`); thinkback calls the provider with `providerKey`.
    public var proxyKeys = false
    /// `--provider-key` (better: `THINKBACK_PROVIDER_KEY`): the provider key thinkback holds.
    public var providerKey: String?
    /// `--proxy-key-concurrency`: requests in flight per proxy key, then 429 (0: no bound).
    public var proxyKeyConcurrency = 0
    /// `--workers`: processes serving the port (SO_REUSEPORT), each with its own loop; 0 (the
    /// default, `auto`): one per core this process may run on, one with the memory store (which
    /// is per process).
    public var workers = 0
    /// `--config`: the file read at start and again on SIGHUP.
    public var configFile: String?
    /// `--admin-key` (better: `THINKBACK_ADMIN_KEY`): lets `POST /admin/cache/clear?all=1` clear
    /// every tenant.
    public var adminKey: String?

    // Restoration (product.md §1–§4)
    /// `nil`: the upstream preset's scope.
    public var restoreScope: UpstreamPreset.RestoreScope?
    public var miss: MissStrategy = .auto
    /// `nil`: the upstream preset's placeholder.
    public var placeholder: String?
    public var tenantMode: TenantMode = .credential
    /// `nil`: `StateDirectory.resolve` (systemd, XDG, home).
    public var stateDirectory: String?
    /// `--store`: SQLite under the state directory unless told otherwise (product.md §5).
    public var store: StoreChoice = .sqlite(path: nil)
    /// The in-memory (hot) tier's bounds, and the time-to-live of every store.
    public var cacheLimits = StoreLimits()
    /// The most bytes the SQLite or Redis store keeps (product.md §7: 1 GiB).
    public var storeBytes = 1 << 30
    /// Prepended to every Redis key (`PREFIX` + tenant + key).
    public var redisPrefix = "thinkback:"
    /// How long a lookup that missed the hot tier waits for Redis before it counts as a miss.
    public var redisTimeoutMs = 50
    /// How long an answer's last bytes wait for its capture to be committed to the store
    /// before they go anyway (product.md §1: group commit).
    public var commitTimeoutMs = 200
    /// Per-model overrides of the preset's thinking defaults.
    public var thinkingOverrides: [String: Bool] = [:]
    public var thinkingDefault: Bool?
    /// How long `auto` remembers that an upstream and model refuse placeholders.
    public var placeholderMemorySeconds = 3600

    public enum TenantMode: String, Sendable { case credential, single }

    public init() {}

    /// The default upstream's scope in force.
    public var effectiveRestoreScope: UpstreamPreset.RestoreScope { restoreScope(for: defaultUpstream) }
    /// The default upstream's placeholder in force.
    public var effectivePlaceholder: String { placeholder(for: defaultUpstream) }

    /// The upstream's own setting, else the flag, else its preset's.
    public func restoreScope(for u: UpstreamConfig) -> UpstreamPreset.RestoreScope {
        u.restoreScope ?? restoreScope ?? u.preset.restoreScope
    }

    public func placeholder(for u: UpstreamConfig) -> String {
        u.placeholder ?? placeholder ?? u.preset.placeholder
    }

    /// Where `u`'s Anthropic-compatible routes go; nil: it has none.
    public func anthropicBaseURL(for u: UpstreamConfig) -> String? {
        u.anthropicUpstream ?? (u.name == defaultUpstream.name ? anthropicUpstream : nil) ?? u.preset.anthropicBaseURL
    }

    /// The upstream named `name`.
    public func upstream(named name: Substring) -> UpstreamConfig? {
        upstreams.first { $0.name == name }
    }

    /// Whether `model` thinks at the default upstream when the request does not say.
    public func thinksByDefault(model: String) -> Bool { thinksByDefault(model: model, upstream: defaultUpstream) }

    /// Whether `model` thinks at `u` when the request does not say (`thinking.type` overrides).
    /// A client's routing prefix (`custom_openai_compatible//mimo-v2.5-pro`) is ignored.
    public func thinksByDefault(model: String, upstream u: UpstreamConfig) -> Bool {
        let name = model.split(separator: "/").last.map(String.init) ?? model
        if let v = u.thinkingOverrides[name] ?? thinkingOverrides[name] { return v }
        if let d = u.thinkingDefault ?? thinkingDefault, !u.preset.thinkingOff.contains(name) { return d }
        return u.preset.thinksByDefault(model: name)
    }
}

public struct ConfigError: Error, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// One configurable setting: its flag, its environment variable and how it applies.
public struct ConfigOption: Sendable {
    public var flag: String
    public var help: String
    public var apply: @Sendable (inout Config, String) throws -> Void
    /// Given more than once: the values reach `apply` one per line (a flag's repeats, a config
    /// file's lines; in a `THINKBACK_*` variable, separated by newlines or `;`).
    public var repeatable: Bool

    public init(flag: String, repeatable: Bool = false, help: String, apply: @escaping @Sendable (inout Config, String) throws -> Void) {
        self.flag = flag
        self.help = help
        self.apply = apply
        self.repeatable = repeatable
    }

    public var environmentVariable: String {
        "THINKBACK_" + String(flag.uppercased().map { $0 == "-" ? "_" : $0 })
    }
}

extension Config {
    /// Every option, in the order `--help` and the README list them.
    public static let options: [ConfigOption] = [
        ConfigOption(flag: "listen", help: "address:port to listen on (default 127.0.0.1:8899)") { c, v in
            guard let colon = v.lastIndex(of: ":"), let port = UInt16(v[v.index(after: colon)...]) else {
                throw ConfigError("--listen wants HOST:PORT, got '\(v)'")
            }
            var host = String(v[..<colon])
            if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            c.listenHost = host.isEmpty ? "127.0.0.1" : host
            c.listenPort = port
        },
        ConfigOption(flag: "upstream", repeatable: true, help: "[NAME=]PRESET|URL, repeatable: an upstream, chosen by /NAME/ before a route's path; the first is the default (presets: \(UpstreamPreset.all.map(\.name).joined(separator: ", ")), cloudsway:ENDPOINT; or an http(s):// base URL; NAME: the preset's name, custom for a URL) (default mimo)") { c, v in
            var list: [UpstreamConfig] = []
            for item in Self.items(v) {
                var name: String?
                var target = item
                if let eq = item.firstIndex(of: "="), !item[..<eq].contains(":") {
                    name = String(item[..<eq])
                    target = String(item[item.index(after: eq)...])
                }
                guard let preset = UpstreamPreset.resolve(target) else {
                    throw ConfigError("--upstream: unknown preset '\(target)' (presets: \(UpstreamPreset.all.map(\.name).joined(separator: ", ")), cloudsway:ENDPOINT; or an http(s):// base URL)")
                }
                let upstreamName = name ?? (preset.name.hasPrefix("cloudsway") ? "cloudsway" : preset.name)
                guard UpstreamConfig.isValidName(upstreamName) else {
                    throw ConfigError("--upstream: '\(upstreamName)' cannot name an upstream (lower-case letters, digits, - and _; not \(UpstreamConfig.reservedNames.sorted().joined(separator: ", ")))")
                }
                guard !list.contains(where: { $0.name == upstreamName }) else {
                    throw ConfigError("--upstream: two upstreams named '\(upstreamName)' (name them: NAME=PRESET|URL)")
                }
                list.append(UpstreamConfig(name: upstreamName, preset: preset))
            }
            guard !list.isEmpty else { throw ConfigError("--upstream wants a preset or a base URL") }
            c.upstreams = list
            c.defaultUpstreamIndex = 0
        },
        ConfigOption(flag: "upstream-set", repeatable: true, help: "NAME.KEY=VALUE, repeatable: one upstream's own setting, over the global flags and its preset (keys: \(UpstreamConfig.keys.joined(separator: ", ")))") { c, v in
            for item in Self.items(v) {
                guard let dot = item.firstIndex(of: "."), let eq = item.firstIndex(of: "="), dot < eq else {
                    throw ConfigError("--upstream-set wants NAME.KEY=VALUE, got '\(item)'")
                }
                let name = item[..<dot]
                guard let i = c.upstreams.firstIndex(where: { $0.name == name }) else {
                    throw ConfigError("--upstream-set: no upstream named '\(name)' (upstreams: \(c.upstreams.map(\.name).joined(separator: ", ")))")
                }
                try c.upstreams[i].set(String(item[item.index(after: dot) ..< eq]), String(item[item.index(after: eq)...]))
            }
        },
        ConfigOption(flag: "default-upstream", help: "the upstream requests without a /NAME/ prefix (and whose model no upstream's models= takes) go to (default: the first --upstream)") { c, v in
            guard let i = c.upstreams.firstIndex(where: { $0.name == v }) else {
                throw ConfigError("--default-upstream: no upstream named '\(v)' (upstreams: \(c.upstreams.map(\.name).joined(separator: ", ")))")
            }
            c.defaultUpstreamIndex = i
        },
        ConfigOption(flag: "anthropic-upstream", help: "base URL of the upstream's Anthropic-compatible API, to which /anthropic/v1/… and /v1/messages go (default: the preset's; for a URL upstream …/v1 → …/anthropic)") { c, v in
            guard v.hasPrefix("http://") || v.hasPrefix("https://") else {
                throw ConfigError("--anthropic-upstream wants an http(s):// base URL, got '\(v)'")
            }
            var base = v
            while base.hasSuffix("/") { base.removeLast() }
            c.anthropicUpstream = base
        },
        ConfigOption(flag: "max-body-bytes", help: "largest request body accepted, else 413 (default 33554432)") { c, v in
            c.maxBodyBytes = try positive(v, "max-body-bytes")
        },
        ConfigOption(flag: "max-header-bytes", help: "largest request header block (default 65536)") { c, v in
            c.maxHeaderBytes = try positive(v, "max-header-bytes")
        },
        ConfigOption(flag: "client-idle-timeout", help: "seconds an idle client connection is kept (default 120)") { c, v in
            c.clientIdleTimeoutSeconds = try positive(v, "client-idle-timeout")
        },
        ConfigOption(flag: "client-header-timeout", help: "seconds a client has to send a request head (from the accept for a connection's first, from its first byte on a kept-alive one); a slower one (a slowloris) is closed (default 10)") { c, v in
            c.clientHeaderTimeoutSeconds = try positive(v, "client-header-timeout")
        },
        ConfigOption(flag: "client-body-timeout", help: "seconds a request body may pause between two reads before the connection is closed (default 30)") { c, v in
            c.clientBodyTimeoutSeconds = try positive(v, "client-body-timeout")
        },
        ConfigOption(flag: "connect-timeout-ms", help: "upstream connect timeout, then 502 (default 10000)") { c, v in
            c.connectTimeoutMs = try positive(v, "connect-timeout-ms")
        },
        ConfigOption(flag: "first-byte-timeout-ms", help: "wait for the upstream's first byte of a whole (non-stream) answer, which comes after the model thought, then 504 (default 600000)") { c, v in
            c.firstByteTimeoutMs = try positive(v, "first-byte-timeout-ms")
        },
        ConfigOption(flag: "stream-first-byte-timeout-ms", help: "wait for the upstream's first byte of a \"stream\": true answer, which comes at once, then 504 (default 60000)") { c, v in
            c.streamFirstByteTimeoutMs = try positive(v, "stream-first-byte-timeout-ms")
        },
        ConfigOption(flag: "max-response-bytes", help: "largest whole (non-stream) answer collected from the upstream, a larger one is answered 502; a stream whose capture would hold more is relayed without capture (default 67108864)") { c, v in
            c.maxResponseBytes = try positive(v, "max-response-bytes")
        },
        ConfigOption(flag: "stream-idle-timeout", help: "seconds a stream may stay silent before it is cut (default 300)") { c, v in
            c.streamIdleTimeoutSeconds = try positive(v, "stream-idle-timeout")
        },
        ConfigOption(flag: "retries", help: "retries after the first attempt, on connection failure, 429, 5xx, before the first byte (default 2, 0 = none)") { c, v in
            c.retry.maxAttempts = try nonNegative(v, "retries") + 1
        },
        ConfigOption(flag: "retry-base-ms", help: "first backoff step, doubled each attempt, with jitter (default 200)") { c, v in
            c.retry.baseDelayMs = UInt64(try positive(v, "retry-base-ms"))
        },
        ConfigOption(flag: "retry-max-ms", help: "longest backoff, and longest Retry-After honoured (default 10000)") { c, v in
            c.retry.maxDelayMs = UInt64(try positive(v, "retry-max-ms"))
        },
        ConfigOption(flag: "drain-timeout", help: "seconds in-flight requests get on SIGTERM/SIGINT (default 30)") { c, v in
            c.drainTimeoutSeconds = try nonNegative(v, "drain-timeout")
        },
        ConfigOption(flag: "stream-slots", help: "SSE chunks queued per slow client before the upstream is paused (default 16)") { c, v in
            c.streamSlots = try positive(v, "stream-slots")
        },
        ConfigOption(flag: "stream-queue-bytes", help: "bytes queued per slow stream client before the upstream is paused; it resumes below a quarter (default 65536)") { c, v in
            c.streamQueueBytes = try positive(v, "stream-queue-bytes")
        },
        ConfigOption(flag: "stream-buffer-bytes", help: "curl's receive buffer per streamed answer, 1024…524288 (default 1024)") { c, v in
            let n = try positive(v, "stream-buffer-bytes")
            guard (1024...524_288).contains(n) else {
                throw ConfigError("stream-buffer-bytes must be between 1024 and 524288, got \(n)")
            }
            c.streamBufferBytes = n
        },
        ConfigOption(flag: "http2", help: "offer HTTP/2 to TLS upstreams: on|off (default on)") { c, v in
            c.http2 = try boolean(v, "http2")
        },
        ConfigOption(flag: "restore", help: "tool-calls (assistant messages with tool calls) or all (default: the upstream's; deepseek: all)") { c, v in
            guard let scope = UpstreamPreset.RestoreScope(rawValue: v) else { throw ConfigError("--restore: tool-calls or all, got '\(v)'") }
            c.restoreScope = scope
        },
        ConfigOption(flag: "miss", help: "when reasoning is not cached: auto, placeholder, textualize, strip, passthrough, reject (default auto)") { c, v in
            guard let strategy = MissStrategy(rawValue: v) else {
                throw ConfigError("--miss: one of \(MissStrategy.allCases.map(\.rawValue).joined(separator: ", ")), got '\(v)'")
            }
            c.miss = strategy
        },
        ConfigOption(flag: "placeholder", help: "reasoning text sent on a miss by placeholder/auto (default: the upstream's, one space)") { c, v in
            c.placeholder = v
        },
        ConfigOption(flag: "thinking", help: "per-model thinking defaults, e.g. 'mimo-v2-flash=on,my-model=off' (default: the upstream's table)") { c, v in
            for item in v.split(separator: ",") {
                let parts = item.split(separator: "=", maxSplits: 1).map { $0.trimmingSpaces }
                guard parts.count == 2, !parts[0].isEmpty, let on = Self.onOff(parts[1]) else {
                    throw ConfigError("--thinking wants MODEL=on|off[,MODEL=on|off…], got '\(v)'")
                }
                c.thinkingOverrides[parts[0]] = on
            }
        },
        ConfigOption(flag: "thinking-default", help: "thinking for models the table does not name: on|off (default: the upstream's, on)") { c, v in
            c.thinkingDefault = try boolean(v, "thinking-default")
        },
        ConfigOption(flag: "tenant", help: "credential (a keyed hash of each client's key) or single (one shared cache) (default credential)") { c, v in
            guard let mode = TenantMode(rawValue: v) else { throw ConfigError("--tenant: credential or single, got '\(v)'") }
            c.tenantMode = mode
        },
        ConfigOption(flag: "state-dir", help: "directory for the tenant secret and the store (default $STATE_DIRECTORY, else ~/.local/state/thinkback)") { c, v in
            guard !v.isEmpty else { throw ConfigError("--state-dir wants a path") }
            c.stateDirectory = v
        },
        ConfigOption(flag: "store", help: "where reasoning is kept: memory, sqlite[:PATH] or redis://HOST:PORT[/DB] (default sqlite: <state-dir>/reasoning.sqlite3)") { c, v in
            guard let choice = StoreChoice(parsing: v) else {
                throw ConfigError("--store: memory, sqlite, sqlite:PATH or redis://HOST:PORT[/DB], got '\(v)'")
            }
            c.store = choice
        },
        ConfigOption(flag: "store-bytes", help: "most bytes the sqlite or redis store keeps, oldest evicted first (default 1073741824)") { c, v in
            c.storeBytes = try positive(v, "store-bytes")
        },
        ConfigOption(flag: "redis-prefix", help: "prefix of every Redis key (default thinkback:)") { c, v in
            c.redisPrefix = v
        },
        ConfigOption(flag: "commit-timeout-ms", help: "how long an answer's last bytes wait for its capture to be committed to the store before they go anyway (default 200)") { c, v in
            c.commitTimeoutMs = try positive(v, "commit-timeout-ms")
        },
        ConfigOption(flag: "redis-timeout-ms", help: "how long a lookup waits for Redis before it counts as a miss (default 50)") { c, v in
            c.redisTimeoutMs = try positive(v, "redis-timeout-ms")
        },
        ConfigOption(flag: "cache-entries", help: "most reasoning entries kept in memory, the hot tier of every store, all workers together (each worker's share) (default 1000000)") { c, v in
            c.cacheLimits.maxEntries = try positive(v, "cache-entries")
        },
        ConfigOption(flag: "cache-bytes", help: "most bytes of reasoning kept in memory, the hot tier of every store, all workers together (each worker's share, at least 1 MiB) (default 268435456)") { c, v in
            c.cacheLimits.maxBytes = try positive(v, "cache-bytes")
        },
        ConfigOption(flag: "cache-ttl", help: "seconds an entry is kept, in every store (default 604800, 7 days)") { c, v in
            c.cacheLimits.timeToLiveMilliseconds = UInt64(try positive(v, "cache-ttl")) * 1000
        },
        ConfigOption(flag: "placeholder-memory", help: "seconds auto remembers that an upstream refuses placeholders (default 3600)") { c, v in
            c.placeholderMemorySeconds = try positive(v, "placeholder-memory")
        },
        ConfigOption(flag: "log-level", help: "trace, debug, info, notice, warning, error, critical (default info)") { c, v in
            let levels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
            guard levels.contains(v) else { throw ConfigError("--log-level: one of \(levels.joined(separator: ", "))") }
            c.logLevel = v
        },
        ConfigOption(flag: "access-log", help: "one line per request: on|off (default on)") { c, v in
            c.accessLog = try boolean(v, "access-log")
        },
        ConfigOption(flag: "proxy-keys", help: "on: clients authenticate with keys thinkback issues (`thinkback keys add NAME`), thinkback calls the provider with --provider-key (default off)") { c, v in
            c.proxyKeys = try boolean(v, "proxy-keys")
        },
        ConfigOption(flag: "provider-key", help: "the provider key thinkback sends upstream under --proxy-keys (prefer the environment variable: a flag shows in ps)") { c, v in
            guard !v.isEmpty else { throw ConfigError("--provider-key is empty") }
            c.providerKey = v
        },
        ConfigOption(flag: "proxy-key-concurrency", help: "requests in flight per proxy key, more get 429 with Retry-After (default 0: no bound)") { c, v in
            guard let n = Int(v), n >= 0 else { throw ConfigError("--proxy-key-concurrency wants a number >= 0") }
            c.proxyKeyConcurrency = n
        },
        ConfigOption(flag: "workers", help: "worker processes, each with its own event loop, sharing the port (SO_REUSEPORT) and the store (sqlite or redis); a number, or auto for one per core this process may run on (default auto; 1 with --store memory, which one process holds)") { c, v in
            if v == "auto" {
                c.workers = 0   // one per core: the runtime counts them
            } else {
                guard let n = Int(v), (1 ... 256).contains(n) else { throw ConfigError("--workers: a number from 1 to 256, or auto") }
                c.workers = n
            }
        },
        ConfigOption(flag: "config", help: "a file of `name = value` lines (these options' names), read at start and again on SIGHUP; flags and THINKBACK_* variables win over it (default none)") { c, v in
            c.configFile = v
        },
        ConfigOption(flag: "admin-key", help: "a key that lets POST /admin/cache/clear?all=1 clear every tenant's captures (prefer the environment variable)") { c, v in
            guard v.utf8.count >= 16 else { throw ConfigError("--admin-key: at least 16 characters") }
            c.adminKey = v
        },
        ConfigOption(flag: "log-format", help: "text (key=value lines) or json (one JSON object per line, access lines included) (default text)") { c, v in
            switch v {
            case "text": c.logJSON = false
            case "json": c.logJSON = true
            default: throw ConfigError("--log-format: text or json")
            }
        },
    ]

    /// Flags win over environment variables, which win over the config file
    /// (`--config`/`THINKBACK_CONFIG`: `fileText`, its lines `name = value` with the flags'
    /// names), which wins over defaults.
    public static func resolve(flags: [String: String], environment: [String: String], fileText: String? = nil) throws -> Config {
        var config = Config()
        let file = try fileText.map(parseFile) ?? [:]
        for option in options {
            // A variable holds a repeatable option's values separated by newlines or `;`.
            let variable = environment[option.environmentVariable].map { option.repeatable ? $0.replacingSemicolons : $0 }
            if let value = flags[option.flag] ?? variable ?? file[option.flag] {
                try option.apply(&config, value)
            }
        }
        if config.workers > 1, case .memory = config.store {
            throw ConfigError("--workers \(config.workers) needs a store the workers share (--store sqlite or redis): the memory store is one process's")
        }
        if config.proxyKeys && config.providerKey == nil {
            throw ConfigError("--proxy-keys on needs the provider key thinkback calls the provider with: THINKBACK_PROVIDER_KEY (or --provider-key)")
        }
        return config
    }

    /// The config file: one `name = value` per line (an option's flag without `--`), `#`
    /// comments and blank lines ignored, the value trimmed (quotes are not special). An
    /// unknown name or a line without `=` is an error naming the line.
    public static func parseFile(_ text: String) throws -> [String: String] {
        let known = Set(options.map(\.flag))
        let repeatable = Set(options.filter(\.repeatable).map(\.flag))
        var out: [String: String] = [:]
        // "\r\n" is one Character in Swift: split on it as well as on "\n".
        for (n, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).enumerated() {
            let line = raw.drop { $0 == " " || $0 == "\t" }
            if line.isEmpty || line.hasPrefix("#") || line.allSatisfy({ $0 == " " || $0 == "\t" || $0 == "\r" }) { continue }
            guard let eq = line.firstIndex(of: "=") else { throw ConfigError("config line \(n + 1): expected name = value") }
            let name = trim(line[..<eq])
            let value = trim(line[line.index(after: eq)...])
            guard known.contains(name) else { throw ConfigError("config line \(n + 1): unknown option '\(name)'") }
            if repeatable.contains(name), let earlier = out[name] {
                out[name] = earlier + "\n" + value
            } else {
                out[name] = value
            }
        }
        return out
    }

    /// A repeatable option's values: one per line.
    static func items(_ v: String) -> [String] {
        v.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }).map { String($0) }.filter { !$0.isEmpty }
    }

    private static func trim(_ s: Substring) -> String {
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" }
        return String(s.drop(while: blank).reversed().drop(while: blank).reversed())
    }

    /// What a reload (SIGHUP) cannot change in a running process: the options that differ
    /// between `self` and `other` among the listener, the upstream, the store and the tenant
    /// keying (a restart applies them).
    public func restartOnlyChanges(to other: Config) -> [String] {
        var out: [String] = []
        if listenHost != other.listenHost || listenPort != other.listenPort { out.append("listen") }
        if upstreams != other.upstreams || defaultUpstreamIndex != other.defaultUpstreamIndex {
            out.append("upstream/upstream-set/default-upstream")
        }
        if anthropicBaseURL != other.anthropicBaseURL { out.append("anthropic-upstream") }
        if store != other.store || storeBytes != other.storeBytes || redisPrefix != other.redisPrefix { out.append("store") }
        if stateDirectory != other.stateDirectory { out.append("state-dir") }
        if tenantMode != other.tenantMode { out.append("tenant") }
        if maxBodyBytes != other.maxBodyBytes || maxHeaderBytes != other.maxHeaderBytes { out.append("max-body-bytes/max-header-bytes") }
        if commitTimeoutMs != other.commitTimeoutMs { out.append("commit-timeout-ms") }
        if clientIdleTimeoutSeconds != other.clientIdleTimeoutSeconds || clientHeaderTimeoutSeconds != other.clientHeaderTimeoutSeconds
            || clientBodyTimeoutSeconds != other.clientBodyTimeoutSeconds { out.append("client timeouts") }
        if streamSlots != other.streamSlots || streamQueueBytes != other.streamQueueBytes { out.append("stream-slots/stream-queue-bytes") }
        if proxyKeys != other.proxyKeys { out.append("proxy-keys") }
        if logJSON != other.logJSON { out.append("log-format") }
        if workers != other.workers { out.append("workers") }
        if cacheLimits != other.cacheLimits { out.append("cache limits") }
        return out
    }

    private static func positive(_ v: String, _ name: String) throws -> Int {
        guard let n = Int(v), n > 0 else { throw ConfigError("--\(name) wants a positive whole number, got '\(v)'") }
        return n
    }
    private static func nonNegative(_ v: String, _ name: String) throws -> Int {
        guard let n = Int(v), n >= 0 else { throw ConfigError("--\(name) wants a whole number ≥ 0, got '\(v)'") }
        return n
    }
    static func onOff(_ v: String) -> Bool? {
        switch v.lowercased() {
        case "on", "true", "1", "yes", "enabled": return true
        case "off", "false", "0", "no", "disabled": return false
        default: return nil
        }
    }
    private static func boolean(_ v: String, _ name: String) throws -> Bool {
        switch v.lowercased() {
        case "on", "true", "1", "yes": return true
        case "off", "false", "0", "no": return false
        default: throw ConfigError("--\(name) wants on or off, got '\(v)'")
        }
    }
}


extension String {
    var replacingSemicolons: String { String(map { $0 == ";" ? "\n" : $0 }) }
}

extension Substring {
    var trimmingSpaces: String {
        var s = self
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}
