import ArgumentParser
import Logging
import ThinkbackCore
import ThinkbackRuntime
#if canImport(Glibc)
import Glibc
#endif

/// `thinkback [--option value]...`: runs the proxy; `thinkback keys …` manages proxy keys.
struct Thinkback: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "thinkback",
        abstract: "Gives reasoning models back the reasoning_content agent clients drop.",
        discussion: """
            Every option is also read from the environment variable shown and from the config file \
            (--config): flags win over the environment, which wins over the file, which wins over the \
            defaults. SIGHUP reloads the file.
            """,
        version: "thinkback \(ThinkbackVersion.string)",
        subcommands: [Keys.self, Doctor.self])

    @OptionGroup var options: RunOptions

    /// Every option of `Config` has its flag (a new one without is a bug caught at once), and
    /// `allFlags` lists what `flags` reads.
    private static func checkOptions() {
        let declared = Set(RunOptions.allFlags)
        let configured = Set(Config.options.map(\.flag))
        precondition(declared == configured, "RunOptions and Config.options differ: \(declared.symmetricDifference(configured))")
    }

    /// The config the command line, the environment and the file make; usage errors name the option.
    static func config(_ flags: [String: String], environment: [String: String]) throws -> Config {
        do {
            return try Config.resolve(flags: flags, environment: environment,
                                      fileText: try Proxy.readConfigFile(flags["config"] ?? environment["THINKBACK_CONFIG"]))
        } catch {
            throw ValidationError("\(error)")
        }
    }

    func run() throws {
        Self.checkOptions()
        let environment = ProcessEnvironment.current
        let flags = options.flags
        let config = try Self.config(flags, environment: environment)
        LogLevelBox.shared.value = Logger.Level(rawValue: config.logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            if config.logJSON {
                return SharedLevelLogHandler(JSONLogHandler(label: label), box: .shared)
            }
            return SharedLevelLogHandler(StreamLogHandler.standardError(label: label), box: .shared)
        }
        var logger = Logger(label: "thinkback")
        do {
            // --workers: the supervisor forks here, before anything starts a thread; each
            // worker goes on below with its own socket of the shared port.
            var worker: Workers.Worker?
            var workerEnvironment = environment
            let count = Workers.count(config.workers, store: config.store)
            // The counters every worker adds to: mapped before the fork, so they share it.
            let stats = StatsBoard(slots: count, lanes: config.upstreams.count)
            if count > 1 {
                worker = try Workers.start(count: count, host: config.listenHost, port: config.listenPort,
                                           activated: SystemdActivation.listenDescriptor(environment: environment),
                                           environment: environment, logger: logger)
                // systemd hears the supervisor only; the socket is the worker's own.
                for name in ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID"] {
                    workerEnvironment[name] = nil
                }
                logger[metadataKey: "worker"] = "\(worker!.index)"
                stats.attach(slot: worker!.index)
            } else {
                stats.attach(slot: 0)
            }
            let loop = try EventLoop()
            let proxy = try Proxy(loop: loop, config: config, logger: logger, environment: workerEnvironment, stats: stats)
            proxy.launchFlags = flags
            if let worker { proxy.worker = (worker.index, worker.count, worker.listenDescriptor) }
            let port = try proxy.start()
            proxy.installSignalHandlers()
            logger.log(level: worker == nil ? .notice : .info, "listening", metadata: [
                "address": proxy.socketActivated || worker?.socketActivated == true ? "systemd socket :\(port)" : "\(config.listenHost):\(port)",
                "upstream": "\(config.upstream.name)",
                "base_url": "\(config.upstream.baseURL)",
            ])
            worker?.ready()
            proxy.notifyReady(port: port)
            loop.run()
            proxy.closeStore()
            logger.notice("stopped")
        } catch {
            logger.critical("cannot start: \(error)")
            throw ExitCode(1)
        }
    }
}

/// `thinkback keys add NAME`, `keys remove NAME`, `keys list`: the proxy keys of
/// `<state-dir>/proxy-keys` (README "Proxy keys").
struct Keys: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manages the keys clients present under --proxy-keys on (stored hashed in <state-dir>/proxy-keys).",
        subcommands: [Add.self, Remove.self, List.self])

    /// The state directory: `--state-dir` (given to `thinkback`, before or after `keys`), else
    /// THINKBACK_STATE_DIR, else the default.
    static func directory(_ root: Thinkback) throws -> String {
            let environment = ProcessEnvironment.current
            guard let directory = StateDirectory.resolve(flag: root.options.stateDir ?? environment["THINKBACK_STATE_DIR"], environment: environment) else {
                throw ValidationError("no state directory: set --state-dir (or HOME, XDG_STATE_HOME)")
            }
            try StateFiles.ensureDirectory(directory)
            return directory
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Adds a key and prints it, once (only its hash is kept).")
        @Argument(help: "the key's name: 1-64 of A-Z a-z 0-9 . _ -") var name: String
        @ParentCommand var root: Thinkback

        func validate() throws {
            guard ProxyKeySet.isValidName(name) else { throw ValidationError("a key name is 1-64 of A-Z a-z 0-9 . _ -") }
        }

        func run() throws {
            let directory = try Keys.directory(root)
            var keys = try StateFiles.proxyKeys(directory: directory)
            var generator = SystemRandomNumberGenerator()
            let key = ProxyKeySet.newKey(using: &generator)
            do { try keys.add(name: name, key: key) } catch { throw ValidationError("\(error)") }
            try StateFiles.writeProxyKeys(keys, directory: directory)
            print(key)
            printError("thinkback: key \(name) added to \(directory)/proxy-keys (shown once; stored hashed)")
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Removes a key: requests with it get 401 from then on.")
        @Argument(help: "the key's name") var name: String
        @ParentCommand var root: Thinkback

        func run() throws {
            let directory = try Keys.directory(root)
            var keys = try StateFiles.proxyKeys(directory: directory)
            guard keys.remove(name: name) else { throw ValidationError("no key named \(name)") }
            try StateFiles.writeProxyKeys(keys, directory: directory)
            printError("thinkback: key \(name) removed")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Prints the keys' names.")
        @ParentCommand var root: Thinkback

        func run() throws {
            for entry in try StateFiles.proxyKeys(directory: try Keys.directory(root)).entries { print(entry.name) }
        }
    }
}

Thinkback.main()

/// `thinkback doctor`: checks an upstream with the user's key — does it refuse a history without
/// the reasoning, does restoring it cure that, which placeholders pass — and prints the settings
/// it recommends (issue 21). It sends a handful of small requests to that upstream only.
struct Doctor: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Checks an upstream with your key and prints what thinkback should be set to for it.",
        discussion: """
            The key: --key, else THINKBACK_DOCTOR_KEY, else THINKBACK_PROVIDER_KEY (better than --key, \
            which other users can see in the process list). The upstream and its settings come from the \
            same options as a run (--upstream, --upstream-set, --placeholder, --config…): --name picks one \
            of several.
            """)
    @OptionGroup var options: RunOptions
    @Option(help: "the provider key to check with") var key: String?
    @Option(help: "the model to ask (default: the preset's usual one)") var model: String?
    @Option(help: "which upstream, of several (default: the default one)") var name: String?

    func run() throws {
        let environment = ProcessEnvironment.current
        let config = try Thinkback.config(options.flags, environment: environment)
        guard let key = key ?? environment["THINKBACK_DOCTOR_KEY"] ?? environment["THINKBACK_PROVIDER_KEY"], !key.isEmpty else {
            throw ValidationError("no key: --key, THINKBACK_DOCTOR_KEY or THINKBACK_PROVIDER_KEY")
        }
        let upstream: UpstreamConfig
        if let name {
            guard let u = config.upstream(named: Substring(name)) else {
                throw ValidationError("no upstream named '\(name)' (upstreams: \(config.upstreams.map(\.name).joined(separator: ", ")))")
            }
            upstream = u
        } else {
            upstream = config.defaultUpstream
        }
        let model = model ?? Self.usualModel(upstream.preset.name)
        let ok = ThinkbackRuntime.Doctor(upstream: upstream, config: config, key: key, model: model) { print($0) }.run()
        if !ok { throw ExitCode(1) }
    }

    static func usualModel(_ preset: String) -> String {
        if preset.hasPrefix("deepseek") { return "deepseek-v4-pro" }
        if preset.hasPrefix("kimi") { return "kimi-k2.6" }
        if preset.hasPrefix("cloudsway") { return "MaaS_Mimo_V2.5_20260423" }
        return "mimo-v2.5-pro"
    }
}
