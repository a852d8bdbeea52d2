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
case .run(let flags):
    let config: Config
    do {
        config = try Config.resolve(flags: flags, environment: environment)
    } catch {
        printError("thinkback: \(error)")
        exit(2)
    }
    LoggingSystem.bootstrap { label in
        let level = Logger.Level(rawValue: config.logLevel) ?? .info
        if config.logJSON {
            var handler = JSONLogHandler(label: label)
            handler.logLevel = level
            return handler
        }
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = level
        return handler
    }
    let logger = Logger(label: "thinkback")
    do {
        let loop = try EventLoop()
        let proxy = try Proxy(loop: loop, config: config, logger: logger, environment: environment)
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
