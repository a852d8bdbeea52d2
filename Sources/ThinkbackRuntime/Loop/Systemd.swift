#if canImport(Glibc)
import Glibc
#endif

/// systemd's service protocol, spoken without libsystemd (issue 20): `sd_notify`'s datagrams
/// to `$NOTIFY_SOCKET` (https://www.freedesktop.org/software/systemd/man/sd_notify.html) and
/// socket activation's `$LISTEN_FDS` (sd_listen_fds). Outside systemd both are no-ops.
public final class SystemdNotifier {
    private let fd: Int32
    private var address = sockaddr_un()
    private var addressLength: socklen_t = 0
    private var watchdog: LoopTimer?

    /// A notifier for `environment`'s `NOTIFY_SOCKET` (a path, or `@name` in the abstract
    /// namespace); nil when there is none or it cannot be used.
    public init?(environment: [String: String]) {
        guard let path = environment["NOTIFY_SOCKET"], !path.isEmpty,
              path.hasPrefix("/") || path.hasPrefix("@") else { return nil }
        var bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < capacity else { return nil }
        if bytes[0] == UInt8(ascii: "@") { bytes[0] = 0 }   // abstract namespace
        let s = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard s >= 0 else { return nil }
        fd = s
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        addressLength = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (bytes[0] == 0 ? 0 : 1))
    }

    deinit {
        close(fd)
    }

    /// Sends one state change (`READY=1`, `STOPPING=1`, …; lines joined by `\n`). False if
    /// the datagram could not be sent.
    @discardableResult
    public func notify(_ state: String) -> Bool {
        let bytes = Array(state.utf8)
        let sent = withUnsafePointer(to: &address) { a in
            a.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                bytes.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL), sa, addressLength) }
            }
        }
        return sent == bytes.count
    }

    /// Pings the watchdog at half of `WATCHDOG_USEC` when systemd asked for one
    /// (`WatchdogSec=`; for this process: `WATCHDOG_PID` unset or ours). The pings come from
    /// the loop, so a loop that stops turning stops them: systemd then restarts the service.
    public func startWatchdog(loop: EventLoop, environment: [String: String]) {
        guard let usec = environment["WATCHDOG_USEC"].flatMap(UInt64.init), usec > 0 else { return }
        if let pid = environment["WATCHDOG_PID"].flatMap(Int32.init), pid != getpid() { return }
        let interval = max(usec / 2000, 1)
        let timer = LoopTimer(loop: loop) { [unowned self] in
            self.notify("WATCHDOG=1")
            self.watchdog?.arm(milliseconds: interval)
        }
        watchdog = timer
        timer.arm(milliseconds: interval)
    }

    public func stopWatchdog() {
        watchdog?.cancel()
        watchdog = nil
    }
}

/// Socket activation (`thinkback.socket`): the listening socket systemd passed, if any.
public enum SystemdActivation {
    /// The first descriptor systemd passes.
    static let firstDescriptor: Int32 = 3

    /// The listening socket systemd handed this process (`LISTEN_PID` ours, `LISTEN_FDS` at
    /// least 1), else nil.
    public static func listenDescriptor(environment: [String: String]) -> Int32? {
        guard let pid = environment["LISTEN_PID"].flatMap(Int32.init), pid == getpid(),
              let count = environment["LISTEN_FDS"].flatMap(Int.init), count >= 1 else { return nil }
        // Ours: keep it from the children a later version might start.
        _ = fcntl(firstDescriptor, F_SETFD, FD_CLOEXEC)
        return firstDescriptor
    }
}
