/// Where thinkback keeps its state (the tenant secret, the SQLite store): docs/product.md §7.
public enum StateDirectory {
    /// `--state-dir`, else `$STATE_DIRECTORY` (systemd), else `$XDG_STATE_HOME/thinkback`,
    /// else `~/.local/state/thinkback`.
    public static func resolve(flag: String?, environment: [String: String]) -> String? {
        if let flag, !flag.isEmpty { return flag }
        if let systemd = environment["STATE_DIRECTORY"], !systemd.isEmpty {
            // systemd may list several, separated by colons: the first is ours.
            return String(systemd.split(separator: ":").first ?? Substring(systemd))
        }
        if let xdg = environment["XDG_STATE_HOME"], xdg.hasPrefix("/") { return xdg + "/thinkback" }
        if let home = environment["HOME"], !home.isEmpty { return home + "/.local/state/thinkback" }
        return nil
    }
}
