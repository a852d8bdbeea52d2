/// Everything a user can set, with the defaults thinkback runs on (docs/product.md §7).
/// One place: CLI flags and `THINKBACK_*` variables both land here (see `ConfigOption`).
public struct Config: Sendable {
    public var listenHost = "127.0.0.1"
    public var listenPort: UInt16 = 8899
    public var upstream: UpstreamPreset = .mimo
    public var maxBodyBytes = 32 * 1024 * 1024
    public var maxHeaderBytes = 64 * 1024
    public var clientIdleTimeoutSeconds = 120
    public var connectTimeoutMs = 10_000
    /// Non-stream answers arrive whole after the model finished thinking: keep this long.
    public var firstByteTimeoutMs = 600_000
    /// A stream that sends nothing for this long is cut.
    public var streamIdleTimeoutSeconds = 300
    public var retry = RetryPolicy()
    public var drainTimeoutSeconds = 30
    /// SSE chunks queued per stream before the upstream transfer is paused.
    public var streamSlots = 16
    public var http2 = true
    public var logLevel = "info"
    public var accessLog = true

    public init() {}
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

    public init(flag: String, help: String, apply: @escaping @Sendable (inout Config, String) throws -> Void) {
        self.flag = flag
        self.help = help
        self.apply = apply
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
        ConfigOption(flag: "upstream", help: "preset (mimo, mimo-token-plan, cloudsway, deepseek, kimi) or a base URL (default mimo)") { c, v in
            guard let preset = UpstreamPreset.resolve(v) else {
                throw ConfigError("--upstream: unknown preset '\(v)' (presets: \(UpstreamPreset.all.map(\.name).joined(separator: ", ")); or an http(s):// base URL)")
            }
            c.upstream = preset
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
        ConfigOption(flag: "connect-timeout-ms", help: "upstream connect timeout, then 502 (default 10000)") { c, v in
            c.connectTimeoutMs = try positive(v, "connect-timeout-ms")
        },
        ConfigOption(flag: "first-byte-timeout-ms", help: "wait for the upstream's first byte, then 504 (default 600000)") { c, v in
            c.firstByteTimeoutMs = try positive(v, "first-byte-timeout-ms")
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
        ConfigOption(flag: "http2", help: "offer HTTP/2 to TLS upstreams: on|off (default on)") { c, v in
            c.http2 = try boolean(v, "http2")
        },
        ConfigOption(flag: "log-level", help: "trace, debug, info, notice, warning, error, critical (default info)") { c, v in
            let levels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
            guard levels.contains(v) else { throw ConfigError("--log-level: one of \(levels.joined(separator: ", "))") }
            c.logLevel = v
        },
        ConfigOption(flag: "access-log", help: "one line per request: on|off (default on)") { c, v in
            c.accessLog = try boolean(v, "access-log")
        },
    ]

    /// Flags win over environment variables, which win over defaults.
    public static func resolve(flags: [String: String], environment: [String: String]) throws -> Config {
        var config = Config()
        for option in options {
            if let value = flags[option.flag] ?? environment[option.environmentVariable] {
                try option.apply(&config, value)
            }
        }
        return config
    }

    private static func positive(_ v: String, _ name: String) throws -> Int {
        guard let n = Int(v), n > 0 else { throw ConfigError("--\(name) wants a positive whole number, got '\(v)'") }
        return n
    }
    private static func nonNegative(_ v: String, _ name: String) throws -> Int {
        guard let n = Int(v), n >= 0 else { throw ConfigError("--\(name) wants a whole number ≥ 0, got '\(v)'") }
        return n
    }
    private static func boolean(_ v: String, _ name: String) throws -> Bool {
        switch v.lowercased() {
        case "on", "true", "1", "yes": return true
        case "off", "false", "0", "no": return false
        default: throw ConfigError("--\(name) wants on or off, got '\(v)'")
        }
    }
}
