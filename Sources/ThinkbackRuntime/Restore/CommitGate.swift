import ThinkbackCore

/// Holds an answer's last bytes until its capture is committed (product.md §1: whatever answer
/// a client has seen restores on its next turn, through any process, even after a crash).
///
/// The loop never waits: a held answer is a closure run later, when the store's group commit
/// (`ReasoningStore.whenCommitted`) calls back, or after `timeoutMs` at the latest — then the
/// answer goes anyway, the capture stays in the hot tier, and the timeout is counted. One
/// timer serves every held answer: deadlines are taken in arrival order, so the oldest is due
/// first. Loop thread only.
final class CommitGate {
    /// Answers held, released on commit, released on timeout, and captures the store could not
    /// commit (failed or unreachable: kept in memory only).
    struct Counters {
        var held = 0
        var committed = 0
        var timeouts = 0
        var failures = 0
    }

    private final class Waiter {
        let deadlineMs: UInt64
        var release: (() -> Void)?
        var heldAtMs: UInt64 = 0
        init(deadlineMs: UInt64, release: @escaping () -> Void) {
            self.deadlineMs = deadlineMs
            self.release = release
        }
    }

    private let store: any ReasoningStore
    private let loop: EventLoop
    private let timeoutMs: UInt64
    private var timer: LoopTimer?
    private var waiters: [Waiter] = []   // loop thread only; oldest first
    private var head = 0
    private(set) var counters = Counters() { didSet { onCounted?() } }
    /// Told after each count changes (the workers' board).
    var onCounted: (() -> Void)?
    /// Told how long each held answer waited for its commit, in milliseconds (`/metrics`).
    var onReleased: ((UInt64) -> Void)?

    init(store: any ReasoningStore, loop: EventLoop, timeoutMs: UInt64) {
        self.store = store
        self.loop = loop
        self.timeoutMs = timeoutMs
    }

    /// Asks the store to commit what was inserted so far. Returns false when it already has
    /// (memory, or nothing pending): `release` is not called, the caller goes on at once.
    /// Otherwise returns true and calls `release` exactly once, later, on the loop.
    func hold(_ release: @escaping () -> Void) -> Bool {
        var answeredAtOnce: Bool?
        var waiter: Waiter?
        store.whenCommitted { [self] ok in
            guard let waiter else {
                answeredAtOnce = ok
                return
            }
            fire(waiter, committed: ok)
        }
        if let ok = answeredAtOnce {
            if !ok { counters.failures += 1 }
            return false
        }
        let w = Waiter(deadlineMs: loop.nowMs + timeoutMs, release: release)
        w.heldAtMs = loop.nowMs
        waiter = w
        counters.held += 1
        waiters.append(w)
        if waiters.count - head == 1 { armTimer() }
        return true
    }

    private func fire(_ waiter: Waiter, committed: Bool) {
        guard let release = waiter.release else { return }   // released by the timeout already
        waiter.release = nil
        if committed { counters.committed += 1 } else { counters.failures += 1 }
        onReleased?(loop.nowMs - waiter.heldAtMs)
        release()
    }

    private func armTimer() {
        while head < waiters.count, waiters[head].release == nil { head += 1 }
        if head == waiters.count {
            waiters.removeAll(keepingCapacity: true)
            head = 0
            timer?.cancel()
            return
        }
        if head > 1024 {
            waiters.removeFirst(head)
            head = 0
        }
        let timer = self.timer ?? LoopTimer(loop: loop) { [unowned self] in self.expire() }
        self.timer = timer
        let now = loop.nowMs
        timer.arm(milliseconds: waiters[head].deadlineMs > now ? waiters[head].deadlineMs - now : 0)
    }

    private func expire() {
        let now = loop.nowMs
        while head < waiters.count, waiters[head].release == nil || waiters[head].deadlineMs <= now {
            let waiter = waiters[head]
            head += 1
            if let release = waiter.release {
                waiter.release = nil
                counters.timeouts += 1
                release()
            }
        }
        armTimer()
    }
}
