/// Parses `--flag value` and `--flag=value` against `Config.options`.
public enum CommandLineParser {
    public enum Outcome: Equatable {
        case run(flags: [String: String])
        case help
        case version
        /// `thinkback keys add|remove NAME`, `thinkback keys list` (with `--state-dir`).
        case keys(action: String, name: String?, flags: [String: String])
    }

    public static func parse(_ arguments: [String], options: [ConfigOption] = Config.options) throws -> Outcome {
        if arguments.first == "keys" {
            var rest = Array(arguments.dropFirst())
            guard let action = rest.first, ["add", "remove", "list"].contains(action) else {
                throw ConfigError("usage: thinkback keys add NAME | remove NAME | list [--state-dir DIR]")
            }
            rest.removeFirst()
            var name: String?
            if action != "list" {
                guard let n = rest.first, !n.hasPrefix("--") else { throw ConfigError("thinkback keys \(action) wants a NAME") }
                name = n
                rest.removeFirst()
            }
            guard case .run(let flags) = try parse(rest, options: options) else { return .help }
            return .keys(action: action, name: name, flags: flags)
        }
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
        text += "\nProxy keys (--proxy-keys on):\n  \(command) keys add NAME     prints a new key (stored hashed in <state-dir>/proxy-keys)\n"
        text += "  \(command) keys remove NAME\n  \(command) keys list\n"
        return text
    }
}
