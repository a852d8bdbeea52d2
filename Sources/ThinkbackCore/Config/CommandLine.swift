/// Parses `--flag value` and `--flag=value` against a list of options: the simulator's command
/// line (thinkback's own goes through swift-argument-parser: Sources/thinkback).
public enum CommandLineParser {
    public enum Outcome: Equatable {
        case run(flags: [String: String])
        case help
        case version
    }

    public static func parse(_ arguments: [String], options: [ConfigOption] = Config.options) throws -> Outcome {
        var flags: [String: String] = [:]
        let known = Set(options.map(\.flag))
        var i = 0
        while i < arguments.count {
            let arg = arguments[i]
            i += 1
            if arg == "-h" || arg == "--help" { return .help }
            if arg == "--version" { return .version }
            guard arg.hasPrefix("--") else { throw ConfigError("unexpected argument '\(arg)' (see --help)") }
            var name = String(arg.dropFirst(2))
            var value: String?
            if let eq = name.firstIndex(of: "=") {
                value = String(name[name.index(after: eq)...])
                name = String(name[..<eq])
            }
            guard known.contains(name) else { throw ConfigError("unknown option --\(name) (see --help)") }
            if value == nil {
                guard i < arguments.count else { throw ConfigError("--\(name) needs a value") }
                value = arguments[i]
                i += 1
            }
            flags[name] = value
        }
        return .run(flags: flags)
    }

    public static func usage(command: String, summary: String, options: [ConfigOption] = Config.options) -> String {
        var text = "\(summary)\n\nUsage: \(command) [--option value]...\n\nOptions (each also read from the environment variable shown):\n"
        for option in options {
            text += "  --\(option.flag)\n      \(option.help)\n      env: \(option.environmentVariable)\n"
        }
        text += "  --help, --version\n"
        return text
    }
}
