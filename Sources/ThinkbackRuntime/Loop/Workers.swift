import CLibEvent
import Logging
import ThinkbackCore
#if canImport(Glibc)
import Glibc
#endif

/// `--workers N` (issue 20): N processes, each the whole single-loop thinkback, each listening
/// on its own socket of the same port (SO_REUSEPORT: the kernel spreads connections), sharing
/// the store (SQLite's file, or Redis). The process started stays as their supervisor: it
/// forwards SIGTERM, SIGINT and SIGHUP, restarts a worker that dies, tells systemd `READY=1`
/// once every worker serves, and exits once they all stopped.
///
/// It forks before anything starts a thread (the loop, the store's checkpointer): call it first.
public enum Workers {
    /// What a worker process gets back.
    public struct Worker {
        public let index: Int
        public let count: Int
        /// Its listening socket.
        public let listenDescriptor: Int32
        /// The socket is systemd's (`thinkback.socket`), shared by every worker.
        public let socketActivated: Bool
        /// Written once the worker serves (`ready()`).
        let readyDescriptor: Int32

        /// Tells the supervisor this worker serves.
        public func ready() {
            var byte: UInt8 = 0x52
            _ = write(readyDescriptor, &byte, 1)
            close(readyDescriptor)
        }
    }

    /// The number of workers `configured`; 0 (`auto`): one per core this process may run on
    /// (its CPU affinity: `taskset`, a cgroup's cpuset, systemd's `CPUAffinity=`), one with the
    /// memory store, which the workers could not share.
    public static func count(_ configured: Int, store: StoreChoice) -> Int {
        if configured > 0 { return configured }
        if case .memory = store { return 1 }
        let allowed = Int(cle_cpus_allowed())
        if allowed > 0 { return min(allowed, 256) }
        return max(1, min(256, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))))
    }

    /// Forks `count` workers on host:port (a port is picked for 0) and returns in each of them;
    /// the supervisor never returns (it exits with the workers). `activated`: systemd's socket,
    /// which the workers then share instead.
    public static func start(count: Int, host: String, port: UInt16, activated: Int32?,
                             environment: [String: String], logger: Logger) throws -> Worker {
        var err = [CChar](repeating: 0, count: 256)
        var boundPort = port
        // The port stays reserved (bound, not listening: no connection comes to it) until every
        // worker listens on it.
        let reserve = activated ?? cle_tcp_socket(host, port, 0, 0, &boundPort, &err, err.count)
        guard reserve >= 0 else { throw RuntimeError(String(cString: err)) }
        if activated != nil { boundPort = 0 }

        var all = sigset_t()
        sigemptyset(&all)
        for s in [SIGTERM, SIGINT, SIGHUP, SIGCHLD] { sigaddset(&all, s) }
        var previous = sigset_t()
        sigprocmask(SIG_BLOCK, &all, &previous)

        var supervisor = Supervisor(count: count, host: host, port: boundPort, activated: activated,
                                    previousMask: previous, logger: logger)
        supervisor.reserve = activated == nil ? reserve : -1
        for index in 0 ..< count {
            if let worker = try supervisor.spawn(index) { return worker }
        }
        // The supervisor from here on.
        supervisor.waitForReady()
        if activated == nil { close(reserve) }
        supervisor.reserve = -1
        logger.notice("listening", metadata: [
            "address": activated != nil ? "systemd socket" : "\(host):\(boundPort)", "workers": "\(count)"])
        let notifier = SystemdNotifier(environment: environment)
        notifier?.notify("READY=1\nSTATUS=\(count) workers serving\nMAINPID=\(getpid())")
        // Returns only in a worker started again after one died.
        return supervisor.run(notifier: notifier, environment: environment)
    }

    private struct Supervisor {
        let count: Int
        let host: String
        let port: UInt16
        let activated: Int32?
        var previousMask: sigset_t
        let logger: Logger
        var pids: [pid_t: Int] = [:]
        var readyPipes: [Int: Int32] = [:]
        var stopping = false
        var startedAt: [Int: UInt64] = [:]
        /// The port's reservation while the first workers start (-1 after).
        var reserve: Int32 = -1

        init(count: Int, host: String, port: UInt16, activated: Int32?, previousMask: sigset_t, logger: Logger) {
            self.count = count
            self.host = host
            self.port = port
            self.activated = activated
            self.previousMask = previousMask
            self.logger = logger
        }

        /// Forks worker `index`: returns it in the child, nil in the supervisor.
        mutating func spawn(_ index: Int) throws -> Worker? {
            var fds: [Int32] = [0, 0]
            guard pipe(&fds) == 0 else { throw RuntimeError("pipe: \(String(cString: strerror(errno)))") }
            _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
            _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
            let pid = fork()
            guard pid >= 0 else { throw RuntimeError("fork: \(String(cString: strerror(errno)))") }
            if pid == 0 {
                close(fds[0])
                // The worker's signals are its loop's again.
                sigprocmask(SIG_SETMASK, &previousMask, nil)
                for (_, fd) in readyPipes { close(fd) }
                if activated == nil, reserve >= 0 { close(reserve) }
                let listen: Int32
                if let activated {
                    listen = activated
                } else {
                    var err = [CChar](repeating: 0, count: 256)
                    listen = cle_tcp_socket(host, port, 1, 1024, nil, &err, err.count)
                    guard listen >= 0 else {
                        printError("thinkback worker \(index): \(String(cString: err))")
                        _exit(1)
                    }
                }
                return Worker(index: index, count: count, listenDescriptor: listen, socketActivated: activated != nil, readyDescriptor: fds[1])
            }
            close(fds[1])
            pids[pid] = index
            readyPipes[index] = fds[0]
            startedAt[index] = StartupClock.nowMs()
            return nil
        }

        /// Blocks until every worker said it serves (or died trying: then the process exits 1).
        mutating func waitForReady() {
            for index in 0 ..< count {
                guard let fd = readyPipes.removeValue(forKey: index) else { continue }
                var byte: UInt8 = 0
                let n = read(fd, &byte, 1)
                close(fd)
                if n != 1 {
                    logger.critical("worker \(index) did not start")
                    for (pid, _) in pids { kill(pid, SIGTERM) }
                    exit(1)
                }
            }
        }

        /// Waits for signals: forwards them, restarts a worker that died, exits once all stopped.
        mutating func run(notifier: SystemdNotifier?, environment: [String: String]) -> Worker {
            var set = sigset_t()
            sigemptyset(&set)
            for s in [SIGTERM, SIGINT, SIGHUP, SIGCHLD] { sigaddset(&set, s) }
            let watchdogMs = environment["WATCHDOG_USEC"].flatMap(UInt64.init).map { max($0 / 2000, 1) }
            while true {
                var timeout = timespec(tv_sec: 1, tv_nsec: 0)
                if let watchdogMs, watchdogMs < 1000 {
                    timeout = timespec(tv_sec: 0, tv_nsec: Int(watchdogMs) * 1_000_000)
                }
                let signo = sigtimedwait(&set, nil, &timeout)
                if signo < 0 {
                    if watchdogMs != nil { notifier?.notify("WATCHDOG=1") }
                    continue
                }
                switch signo {
                case SIGTERM, SIGINT:
                    if !stopping {
                        stopping = true
                        notifier?.notify("STOPPING=1\nSTATUS=draining")
                        logger.notice("signal received: stopping the workers", metadata: ["workers": "\(pids.count)"])
                    }
                    for (pid, _) in pids { kill(pid, signo) }
                case SIGHUP:
                    notifier?.notify("RELOADING=1")
                    for (pid, _) in pids { kill(pid, SIGHUP) }
                    notifier?.notify("READY=1")
                default:   // SIGCHLD
                    reap()
                    if let worker = Workers.respawned { return worker }
                }
                if stopping && pids.isEmpty {
                    logger.notice("stopped")
                    exit(0)
                }
            }
        }

        /// Collects exited workers; one that died while serving is started again (after a
        /// second if it died within a second of its start).
        mutating func reap() {
            while true {
                var status: Int32 = 0
                let pid = waitpid(-1, &status, WNOHANG)
                guard pid > 0, let index = pids.removeValue(forKey: pid) else { return }
                if stopping { continue }
                logger.warning("worker died: starting it again", metadata: [
                    "worker": "\(index)", "status": "\(status)"])
                if StartupClock.nowMs() - (startedAt[index] ?? 0) < 1000 { usleep(1_000_000) }
                do {
                    if let worker = try spawn(index) {
                        // In the new child: the supervisor's loop is not ours; go serve.
                        Workers.respawned = worker
                        return
                    }
                    if let fd = readyPipes.removeValue(forKey: index) { close(fd) }
                } catch {
                    logger.error("cannot start worker \(index) again", metadata: ["error": "\(error)"])
                }
            }
        }
    }

    /// Set in a worker forked by the supervisor's loop (a restart).
    nonisolated(unsafe) static var respawned: Worker?
}
