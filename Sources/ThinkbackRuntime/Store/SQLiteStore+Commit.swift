import ThinkbackCore

// When transactions run, and what follows their outcome (see SQLiteStore's comment): one at
// the end of the loop turn that queued an insert, one within `batchIntervalMs` for lookup
// bookkeeping, retries while another process holds the write lock.

extension SQLiteStore {
    /// Arms the timer for the queued work, or writes at once when the batch is full and there
    /// is no loop.
    func schedule() {
        guard let timer else {
            if queue.count >= options.batchEntries || queuedBytes >= batchBytes { commit(waitingForLock: false) }
            return
        }
        // Waiting for another process's lock: the retry is armed already.
        guard lockRetryMs == 0 else { return }
        let wanted: UInt64 = queuedInserts > 0 ? 0 : options.batchIntervalMs
        if let armed = armedMilliseconds, armed <= wanted { return }
        // 0 runs at the end of this loop turn, after the callbacks already due: every insert
        // they make joins the same transaction.
        timer.arm(milliseconds: wanted)
        armedMilliseconds = wanted
    }

    func timerFired() {
        armedMilliseconds = nil
        commit(waitingForLock: false)
    }

    /// Runs one transaction for everything queued. `waitingForLock`: wait (SQLite's busy
    /// handler, up to `openLockWaitMs`) for another process's write lock instead of retrying
    /// later from the loop.
    func commit(waitingForLock: Bool) {
        guard !queue.isEmpty || sweepWanted else { return }
        database.lockWaitMilliseconds = waitingForLock ? options.openLockWaitMs : 0
        let outcome = writeTransaction()
        database.lockWaitMilliseconds = Self.readLockWaitMilliseconds
        switch outcome {
        case .committed(let ambiguous, let sweepMore):
            committedTransactions += 1
            lockRetryMs = 0
            lockWaitedMs = 0
            sweepWanted = sweepMore
            succeeded()
            finishBatch(committed: true, ambiguous: ambiguous)
            rebuildFilterIfStale()
        case .busy where lockWaitedMs < options.lockPatienceMs:
            lockRetryMs = lockRetryMs == 0 ? 1 : min(lockRetryMs * 2, options.lockRetryMaxMs)
            lockWaitedMs += lockRetryMs
            if let timer {
                timer.arm(milliseconds: lockRetryMs)
                armedMilliseconds = lockRetryMs
            }
            return
        case .busy:
            lockRetryMs = 0
            lockWaitedMs = 0
            failed(SQLiteError(code: 5, message: "the write lock stayed taken for \(options.lockPatienceMs) ms (another process on \(path))"))
            finishBatch(committed: false, ambiguous: [])
        case .failed(let error):
            failed(error)
            finishBatch(committed: false, ambiguous: [])
        }
        if !queue.isEmpty || sweepWanted { schedule() }
    }

    /// Empties the queue (written, or dropped: the hot tier still has it), then tells the
    /// observers and the waiters, who may queue more.
    private func finishBatch(committed: Bool, ambiguous: [CacheKey]) {
        queue = []
        queuedByKey = [:]
        clearing = []
        clearingAll = false
        queuedInserts = 0
        queuedBytes = 0
        let done = waiters
        waiters = []
        if !ambiguous.isEmpty {
            for observer in ambiguityObservers { observer(ambiguous) }
        }
        for waiter in done { waiter(committed) }
    }
}

/// How a write transaction ended.
enum SQLiteTransactionOutcome {
    /// Committed; `ambiguous`: keys it turned ambiguous; `sweepMore`: expired rows may remain.
    case committed(ambiguous: [CacheKey], sweepMore: Bool)
    /// Another connection holds the write lock: nothing was written.
    case busy
    /// Rolled back.
    case failed(Error)
}
