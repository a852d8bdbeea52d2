import Logging
import ThinkbackCore
import ThinkbackRuntime
#if canImport(Glibc)
import Glibc
#endif

let environment = ProcessEnvironment.current
let outcome: CommandLineParser.Outcome
do {
    outcome = try CommandLineParser.parse(Array(CommandLine.arguments.dropFirst()))
} catch {
    printError("thinkback: \(error)")
    exit(2)
}

switch outcome {
case .help:
    print(CommandLineParser.usage(
        command: "thinkback",
        summary: "thinkback — gives reasoning models back the reasoning_content agent clients drop."))
    exit(0)
case .version:
    print("thinkback \(ThinkbackVersion.string)")
    exit(0)
case .keys(let action, let name, let flags):
    // `thinkback keys add|remove NAME`, `keys list`: the proxy keys of <state-dir>/proxy-keys.
    do {
        let config = try Config.resolve(flags: flags, environment: environment.filter { $0.key != "THINKBACK_PROXY_KEYS" })
        guard let directory = StateDirectory.resolve(flag: config.stateDirectory, environment: environment) else {
            throw RuntimeError("no state directory: set --state-dir (or HOME, XDG_STATE_HOME)")
        }
        try StateFiles.ensureDirectory(directory)
        var keys = try StateFiles.proxyKeys(directory: directory)
        switch action {
        case "add":
            var generator = SystemRandomNumberGenerator()
            let key = ProxyKeySet.newKey(using: &generator)
            try keys.add(name: name ?? "", key: key)
            try StateFiles.writeProxyKeys(keys, directory: directory)
            // The only time the key is shown: thinkback keeps its hash only.
            print(key)
            printError("thinkback: key \(name ?? "") added to \(directory)/proxy-keys (shown once; stored hashed)")
        case "remove":
            guard keys.remove(name: name ?? "") else { throw RuntimeError("no key named \(name ?? "")") }
            try StateFiles.writeProxyKeys(keys, directory: directory)
            printError("thinkback: key \(name ?? "") removed")
        default:
            for entry in keys.entries { print(entry.name) }
        }
        exit(0)
    } catch {
        printError("thinkback: \(error)")
        exit(1)
    }
case .run(let flags):
    let config: Config
    do {
        config = try Config.resolve(flags: flags, environment: environment,
                                    fileText: try Proxy.readConfigFile(flags["config"] ?? environment["THINKBACK_CONFIG"]))
    } catch {
        printError("thinkback: \(error)")
        exit(2)
    }
    LogLevelBox.shared.value = Logger.Level(rawValue: config.logLevel) ?? .info
    LoggingSystem.bootstrap { label in
        if config.logJSON {
            return SharedLevelLogHandler(JSONLogHandler(label: label), box: .shared)
        }
        return SharedLevelLogHandler(StreamLogHandler.standardError(label: label), box: .shared)
    }
    let logger = Logger(label: "thinkback")
    do {
        let loop = try EventLoop()
        let proxy = try Proxy(loop: loop, config: config, logger: logger, environment: environment)
        proxy.launchFlags = flags
        let port = try proxy.start()
        proxy.installSignalHandlers()
        logger.notice("listening", metadata: [
            "address": proxy.socketActivated ? "systemd socket :\(port)" : "\(config.listenHost):\(port)",
            "upstream": "\(config.upstream.name)",
            "base_url": "\(config.upstream.baseURL)",
        ])
        proxy.notifyReady(port: port)
        loop.run()
        proxy.closeStore()
        logger.notice("stopped")
        exit(0)
    } catch {
        logger.critical("cannot start: \(error)")
        exit(1)
    }
}
