import ArgumentParser
import ThinkbackCore

// thinkback's command line through swift-argument-parser (issue 20): one declared option per
// `Config.options` entry — its help text and environment variable come from there, so the
// flags, the environment, the config file and `--help` name the same options — and the `keys`
// subcommand. The values go to `Config.resolve` as they are: it applies the precedence
// (flags > THINKBACK_* > file > defaults) and the validation.

/// The options of a thinkback run, as given on the command line.
struct RunOptions: ParsableArguments {
    @Option(name: .customLong("listen"), help: Self.help("listen"))
    var listen: String?

    @Option(name: .customLong("upstream"), help: Self.help("upstream"))
    var upstreamList: [String] = []
    var upstream: String? { upstreamList.isEmpty ? nil : upstreamList.joined(separator: "\n") }

    @Option(name: .customLong("upstream-set"), help: Self.help("upstream-set"))
    var upstreamSetList: [String] = []
    var upstreamSet: String? { upstreamSetList.isEmpty ? nil : upstreamSetList.joined(separator: "\n") }

    @Option(name: .customLong("default-upstream"), help: Self.help("default-upstream"))
    var defaultUpstream: String?

    @Option(name: .customLong("anthropic-upstream"), help: Self.help("anthropic-upstream"))
    var anthropicUpstream: String?

    @Option(name: .customLong("max-body-bytes"), help: Self.help("max-body-bytes"))
    var maxBodyBytes: String?

    @Option(name: .customLong("max-header-bytes"), help: Self.help("max-header-bytes"))
    var maxHeaderBytes: String?

    @Option(name: .customLong("client-idle-timeout"), help: Self.help("client-idle-timeout"))
    var clientIdleTimeout: String?

    @Option(name: .customLong("client-header-timeout"), help: Self.help("client-header-timeout"))
    var clientHeaderTimeout: String?

    @Option(name: .customLong("client-body-timeout"), help: Self.help("client-body-timeout"))
    var clientBodyTimeout: String?

    @Option(name: .customLong("connect-timeout-ms"), help: Self.help("connect-timeout-ms"))
    var connectTimeoutMs: String?

    @Option(name: .customLong("first-byte-timeout-ms"), help: Self.help("first-byte-timeout-ms"))
    var firstByteTimeoutMs: String?

    @Option(name: .customLong("stream-first-byte-timeout-ms"), help: Self.help("stream-first-byte-timeout-ms"))
    var streamFirstByteTimeoutMs: String?

    @Option(name: .customLong("max-response-bytes"), help: Self.help("max-response-bytes"))
    var maxResponseBytes: String?

    @Option(name: .customLong("stream-idle-timeout"), help: Self.help("stream-idle-timeout"))
    var streamIdleTimeout: String?

    @Option(name: .customLong("retries"), help: Self.help("retries"))
    var retries: String?

    @Option(name: .customLong("retry-base-ms"), help: Self.help("retry-base-ms"))
    var retryBaseMs: String?

    @Option(name: .customLong("retry-max-ms"), help: Self.help("retry-max-ms"))
    var retryMaxMs: String?

    @Option(name: .customLong("drain-timeout"), help: Self.help("drain-timeout"))
    var drainTimeout: String?

    @Option(name: .customLong("stream-slots"), help: Self.help("stream-slots"))
    var streamSlots: String?

    @Option(name: .customLong("stream-queue-bytes"), help: Self.help("stream-queue-bytes"))
    var streamQueueBytes: String?

    @Option(name: .customLong("stream-buffer-bytes"), help: Self.help("stream-buffer-bytes"))
    var streamBufferBytes: String?

    @Option(name: .customLong("http2"), help: Self.help("http2"))
    var http2: String?

    @Option(name: .customLong("restore"), help: Self.help("restore"))
    var restore: String?

    @Option(name: .customLong("miss"), help: Self.help("miss"))
    var miss: String?

    @Option(name: .customLong("placeholder"), help: Self.help("placeholder"))
    var placeholder: String?

    @Option(name: .customLong("thinking"), help: Self.help("thinking"))
    var thinking: String?

    @Option(name: .customLong("thinking-default"), help: Self.help("thinking-default"))
    var thinkingDefault: String?

    @Option(name: .customLong("tenant"), help: Self.help("tenant"))
    var tenant: String?

    @Option(name: .customLong("state-dir"), help: Self.help("state-dir"))
    var stateDir: String?

    @Option(name: .customLong("store"), help: Self.help("store"))
    var store: String?

    @Option(name: .customLong("store-bytes"), help: Self.help("store-bytes"))
    var storeBytes: String?

    @Option(name: .customLong("redis-prefix"), help: Self.help("redis-prefix"))
    var redisPrefix: String?

    @Option(name: .customLong("commit-timeout-ms"), help: Self.help("commit-timeout-ms"))
    var commitTimeoutMs: String?

    @Option(name: .customLong("redis-timeout-ms"), help: Self.help("redis-timeout-ms"))
    var redisTimeoutMs: String?

    @Option(name: .customLong("cache-entries"), help: Self.help("cache-entries"))
    var cacheEntries: String?

    @Option(name: .customLong("cache-bytes"), help: Self.help("cache-bytes"))
    var cacheBytes: String?

    @Option(name: .customLong("cache-ttl"), help: Self.help("cache-ttl"))
    var cacheTtl: String?

    @Option(name: .customLong("placeholder-memory"), help: Self.help("placeholder-memory"))
    var placeholderMemory: String?

    @Option(name: .customLong("log-level"), help: Self.help("log-level"))
    var logLevel: String?

    @Option(name: .customLong("access-log"), help: Self.help("access-log"))
    var accessLog: String?

    @Option(name: .customLong("proxy-keys"), help: Self.help("proxy-keys"))
    var proxyKeys: String?

    @Option(name: .customLong("provider-key"), help: Self.help("provider-key"))
    var providerKey: String?

    @Option(name: .customLong("proxy-key-concurrency"), help: Self.help("proxy-key-concurrency"))
    var proxyKeyConcurrency: String?

    @Option(name: .customLong("workers"), help: Self.help("workers"))
    var workers: String?

    @Option(name: .customLong("config"), help: Self.help("config"))
    var configFile: String?

    @Option(name: .customLong("admin-key"), help: Self.help("admin-key"))
    var adminKey: String?

    @Option(name: .customLong("log-format"), help: Self.help("log-format"))
    var logFormat: String?

    /// The flags given, by option name.
    var flags: [String: String] {
        var out: [String: String] = [:]
        for (name, value) in pairs { if let value { out[name] = value } }
        return out
    }

    /// Every flag this type declares (the same list as `pairs`).
    static let allFlags: [String] = ["listen", "upstream", "upstream-set", "default-upstream", "anthropic-upstream", "max-body-bytes", "max-header-bytes", "client-idle-timeout", "client-header-timeout", "client-body-timeout", "connect-timeout-ms", "first-byte-timeout-ms", "stream-first-byte-timeout-ms", "max-response-bytes", "stream-idle-timeout", "retries", "retry-base-ms", "retry-max-ms", "drain-timeout", "stream-slots", "stream-queue-bytes", "stream-buffer-bytes", "http2", "restore", "miss", "placeholder", "thinking", "thinking-default", "tenant", "state-dir", "store", "store-bytes", "redis-prefix", "commit-timeout-ms", "redis-timeout-ms", "cache-entries", "cache-bytes", "cache-ttl", "placeholder-memory", "log-level", "access-log", "proxy-keys", "provider-key", "proxy-key-concurrency", "workers", "config", "admin-key", "log-format"]

    private var pairs: [(String, String?)] {
        [("listen", listen), ("upstream", upstream), ("upstream-set", upstreamSet), ("default-upstream", defaultUpstream), ("anthropic-upstream", anthropicUpstream), ("max-body-bytes", maxBodyBytes), ("max-header-bytes", maxHeaderBytes), ("client-idle-timeout", clientIdleTimeout), ("client-header-timeout", clientHeaderTimeout), ("client-body-timeout", clientBodyTimeout), ("connect-timeout-ms", connectTimeoutMs), ("first-byte-timeout-ms", firstByteTimeoutMs), ("stream-first-byte-timeout-ms", streamFirstByteTimeoutMs), ("max-response-bytes", maxResponseBytes), ("stream-idle-timeout", streamIdleTimeout), ("retries", retries), ("retry-base-ms", retryBaseMs), ("retry-max-ms", retryMaxMs), ("drain-timeout", drainTimeout), ("stream-slots", streamSlots), ("stream-queue-bytes", streamQueueBytes), ("stream-buffer-bytes", streamBufferBytes), ("http2", http2), ("restore", restore), ("miss", miss), ("placeholder", placeholder), ("thinking", thinking), ("thinking-default", thinkingDefault), ("tenant", tenant), ("state-dir", stateDir), ("store", store), ("store-bytes", storeBytes), ("redis-prefix", redisPrefix), ("commit-timeout-ms", commitTimeoutMs), ("redis-timeout-ms", redisTimeoutMs), ("cache-entries", cacheEntries), ("cache-bytes", cacheBytes), ("cache-ttl", cacheTtl), ("placeholder-memory", placeholderMemory), ("log-level", logLevel), ("access-log", accessLog), ("proxy-keys", proxyKeys), ("provider-key", providerKey), ("proxy-key-concurrency", proxyKeyConcurrency), ("workers", workers), ("config", configFile), ("admin-key", adminKey), ("log-format", logFormat)]
    }

    /// An option's help text from `Config.options`, with its environment variable.
    static func help(_ flag: String) -> ArgumentHelp {
        guard let option = Config.options.first(where: { $0.flag == flag }) else { return ArgumentHelp("") }
        return ArgumentHelp("\(option.help) [env: \(option.environmentVariable)]")
    }
}
