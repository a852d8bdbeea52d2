import CLibEvent
import ThinkbackCore

/// The shared store (product.md §5): a Redis server that several thinkback processes use
/// together, through hiredis's async API on the loop's own event_base: the loop never waits
/// on the network.
///
/// Lookups send one EVAL for all their keys and wait for its answer at most `timeoutMs`, then
/// count as misses. Inserts send one EVAL each; hiredis writes whatever is queued together
/// (pipelining). Values, their expiry (PX) and the byte budget live in Redis (`RedisScripts`),
/// and so does the insert rule: the script decides which keys turn ambiguous, atomically
/// between processes, and names them in its answer (reported to `observeAmbiguity`). A marker
/// is a pointer key of its own, not an entry: it counts in neither `entries` nor `bytes`.
/// An insert is committed once its EVAL is answered; answers come in the order sent.
///
/// When Redis is unreachable or stops answering, lookups miss at once and inserts are
/// skipped (the hot tier in front keeps serving: degraded to memory), a failure is counted,
/// one warning is logged per outage, and the store reconnects with exponential backoff
/// until Redis is back. Loop thread only.
public final class RedisStore: ReasoningStore {
    public struct Options: Sendable {
        public var host: String
        public var port: UInt16
        public var database = 0
        public var prefix = "thinkback:"
        public var timeoutMs: UInt64 = 50
        /// A command unanswered this long means the server stopped answering (it may still
        /// accept connections): the connection is dropped and made again.
        public var stallMs: UInt64 = 1000
        /// Commands sent and not yet answered, at most; beyond, a lookup misses at once and an
        /// insert is not sent (the hot tier keeps it), so a slow server cannot grow memory.
        public var maxInFlight = 10_000
        public var reconnectMinMs: UInt64 = 100
        public var reconnectMaxMs: UInt64 = 5000

        public init(host: String, port: UInt16, database: Int = 0, prefix: String = "thinkback:", timeoutMs: UInt64 = 50) {
            self.host = host
            self.port = port
            self.database = database
            self.prefix = prefix
            self.timeoutMs = timeoutMs
        }
    }

    public let limits: StoreLimits
    public let options: Options
    public private(set) var statistics = StoreStatistics() // loop thread only
    /// Called when Redis becomes unreachable (once per outage) and when it is back.
    public var onHealthChange: ((_ failing: Bool, _ reason: String) -> Void)?
    /// Whether commands are being sent.
    public var isConnected: Bool { state == .up }
    /// Commands sent and not yet answered.
    var pendingReplies: Int { replies.count - replyHead }

    private enum State { case down, connecting, up }
    private let loop: EventLoop
    private let clock: any StoreClock
    private var client: OpaquePointer?
    // loop thread only
    private var state = State.down
    private var replies: [((UnsafePointer<redisReply>?) -> Void)?] = []
    /// When each command of `replies` was sent (monotonic, the loop's clock).
    private var sentAtMs: [UInt64] = []
    private var replyHead = 0
    private var stallTimer: LoopTimer?
    private var stallTimerArmed = false
    private var backoffMs: UInt64
    private var reconnectTimer: LoopTimer?
    private var entrySerial: UInt64 = 0
    private let entryPrefix: String
    private var flushing = false
    /// Inserts sent (their serial numbers) and answered, in order.
    private var insertsSent: UInt64 = 0
    private var insertsAnswered: UInt64 = 0
    /// An insert failed that no waiter covered yet, or could not be sent: the next waiter
    /// answers false.
    private var unansweredFailure = false
    private var unsentInsert = false
    private var commitWaiters: [CommitWaiter] = []
    private var ambiguityObservers: [([CacheKey]) -> Void] = []

    /// Connects in the background; until then lookups miss.
    public init(options: Options, limits: StoreLimits, loop: EventLoop, clock: any StoreClock = SystemStoreClock()) {
        self.options = options
        self.limits = limits
        self.loop = loop
        self.clock = clock
        backoffMs = options.reconnectMinMs
        var generator = SystemRandomNumberGenerator()
        entryPrefix = String(generator.next() | 1 << 63, radix: 16)
        client = cle_redis_new(loop.raw, { ctx, event in
            Unmanaged<RedisStore>.fromOpaque(ctx!).takeUnretainedValue().connectionChanged(up: event == Int32(CLE_REDIS_UP))
        }, { ctx, reply in
            Unmanaged<RedisStore>.fromOpaque(ctx!).takeUnretainedValue().replied(reply)
        }, nil)
        // The context is set after init: the client calls back only once connected.
        reconnectTimer = LoopTimer(loop: loop) { [unowned self] in self.connect() }
        if let client { cle_redis_set_context(client, Unmanaged.passUnretained(self).toOpaque()) }
        connect()
    }

    deinit {
        if let client { cle_redis_free(client) }
    }

    /// The bounds for a Redis memory budget of `memoryBytes` (`--store-bytes`): values may
    /// account for two thirds of it; the rest is Redis's own per-key and allocator overhead.
    public static func limits(memoryBytes: Int, timeToLiveMilliseconds: UInt64) -> StoreLimits {
        StoreLimits(maxEntries: Int.max, maxBytes: max(memoryBytes / 3 * 2, 1), timeToLiveMilliseconds: timeToLiveMilliseconds)
    }

    // MARK: Connection

    private func connect() {
        guard let client, state == .down else { return }
        state = .connecting
        if cle_redis_connect(client, options.host, Int32(options.port)) != 0 {
            connectionChanged(up: false)
        }
    }

    private func connectionChanged(up: Bool) {
        if up {
            state = .up
            backoffMs = options.reconnectMinMs
            if options.database != 0 { send(["SELECT", String(options.database)].map { Array($0.utf8) }) { _ in } }
            if statistics.degraded {
                statistics.degraded = false
                onHealthChange?(false, "")
            }
        } else {
            state = .down
            failed("cannot reach redis at \(options.host):\(options.port)")
            // Not from inside hiredis's callback: its context is being freed.
            reconnectTimer?.arm(milliseconds: backoffMs)
            backoffMs = min(backoffMs * 2, options.reconnectMaxMs)
        }
    }

    private func failed(_ reason: String) {
        statistics.failures += 1
        if !statistics.degraded {
            statistics.degraded = true
            onHealthChange?(true, reason)
        }
    }

    /// Sends one command; `completion` gets its reply (nil: connection gone). False when not
    /// connected (no completion).
    @discardableResult
    private func send(_ arguments: [[UInt8]], _ completion: @escaping (UnsafePointer<redisReply>?) -> Void) -> Bool {
        guard let client, state == .up, pendingReplies < options.maxInFlight else { return false }
        var flat: [UInt8] = []
        flat.reserveCapacity(arguments.reduce(0) { $0 + $1.count })
        var lengths: [Int] = []
        lengths.reserveCapacity(arguments.count)
        for argument in arguments {
            flat += argument
            lengths.append(argument.count)
        }
        let rc = flat.withUnsafeBytes { raw -> Int32 in
            let base = raw.baseAddress!.assumingMemoryBound(to: CChar.self)
            var offset = 0
            let pointers: [UnsafePointer<CChar>] = lengths.map { length in
                defer { offset += length }
                return UnsafePointer(base + offset)
            }
            return cle_redis_command(client, Int32(arguments.count), pointers, lengths)
        }
        guard rc == 0 else { return false }
        replies.append(completion)
        sentAtMs.append(loop.nowMs)
        armStallWatch()
        return true
    }

    /// Checks, while commands are unanswered, that the oldest is younger than `stallMs`.
    private func armStallWatch() {
        guard !stallTimerArmed else { return }
        let timer = stallTimer ?? LoopTimer(loop: loop) { [unowned self] in
            self.stallTimerArmed = false
            self.checkStall()
        }
        stallTimer = timer
        stallTimerArmed = true
        timer.arm(milliseconds: options.stallMs)
    }

    private func checkStall() {
        guard replyHead < replies.count, let client else { return }
        let waited = loop.nowMs &- sentAtMs[replyHead]
        guard waited >= options.stallMs else {
            stallTimerArmed = true
            stallTimer?.arm(milliseconds: options.stallMs - waited)
            return
        }
        // Accepting but not answering: every unanswered command fails now (a nil reply each),
        // and a fresh connection is made.
        failed("redis did not answer for \(waited) ms")
        cle_redis_drop(client)
        connectionChanged(up: false)
    }

    private func replied(_ reply: UnsafePointer<redisReply>?) {
        guard replyHead < replies.count else { return }
        let completion = replies[replyHead]
        replies[replyHead] = nil
        replyHead += 1
        if replyHead == replies.count {
            replies.removeAll(keepingCapacity: true)
            sentAtMs.removeAll(keepingCapacity: true)
            replyHead = 0
            stallTimer?.cancel()
            stallTimerArmed = false
            if flushing { loop.stop() }
        } else if replyHead > 4096 {
            replies.removeFirst(replyHead)
            sentAtMs.removeFirst(replyHead)
            replyHead = 0
        }
        completion?(reply)
    }

    // MARK: ReasoningStore

    /// Answers when Redis does, or with misses after `timeoutMs`, or at once while Redis is
    /// unreachable; always on the loop, exactly once.
    public func lookup(_ keys: [CacheKey], completion: @escaping ([StoredReasoning?]) -> Void) {
        let misses = [StoredReasoning?](repeating: nil, count: keys.count)
        guard !keys.isEmpty else { return completion([]) }
        let wait = LookupWait()
        let sent = send([Array("EVAL".utf8), Array(RedisScripts.lookup.utf8), Array(String(keys.count).utf8)] + keys.map(pointerKey)) { [unowned self] reply in
            guard !wait.done else { return }
            wait.finish()
            guard let reply, reply.pointee.type == REDIS_REPLY_ARRAY, reply.pointee.elements == keys.count else {
                failed(reply == nil ? "redis connection lost" : "unexpected redis reply")
                statistics.misses += keys.count
                return completion(misses)
            }
            let now = clock.nowMilliseconds()
            var results = misses
            for i in 0..<keys.count {
                if let element = reply.pointee.element[i], let value = decode(element, now: now) {
                    results[i] = value
                    statistics.hits += 1
                } else {
                    statistics.misses += 1
                }
            }
            completion(results)
        }
        guard sent else {
            statistics.misses += keys.count
            return completion(misses)
        }
        let timer = LoopTimer(loop: loop) { [unowned self] in
            guard !wait.done else { return }
            wait.finish()
            statistics.misses += keys.count
            timedOut()
            completion(misses)
        }
        wait.timer = timer
        timer.arm(milliseconds: options.timeoutMs)
    }

    private func timedOut() {
        // A lookup that waited too long is a miss; a server that stopped answering altogether
        // is found by the stall watch (`checkStall`).
        failed("redis did not answer within \(options.timeoutMs) ms")
    }

    /// Sends the value and its keys (see `RedisScripts.insert`: the insert rule is decided in
    /// Redis, atomically between processes); skipped while unreachable.
    public func insert(_ value: StoredReasoning, for keys: [CacheKey]) {
        var unique: [CacheKey] = []
        for key in keys where !unique.contains(key) { unique.append(key) }
        guard let first = unique.first else { return }
        let now = clock.nowMilliseconds()
        let (sum, overflow) = value.storedAtMilliseconds.addingReportingOverflow(limits.timeToLiveMilliseconds)
        let expiresAt = overflow ? UInt64.max : sum
        guard expiresAt > now else { return }
        guard value.accountedBytes(keyCount: unique.count) <= limits.maxBytes else {
            statistics.rejections += 1
            return
        }
        entrySerial += 1
        let entry = options.prefix + String(first.hex.prefix(TenantID.byteCount * 2)) + ":e:" + entryPrefix + "-" + serialHex(entrySerial)
        var encoded: [UInt8] = [value.format.rawValue]
        encoded.reserveCapacity(9 + value.text.count)
        withUnsafeBytes(of: value.storedAtMilliseconds.bigEndian) { encoded += $0 }
        encoded += value.text
        let keyBytes = value.accountedBytes(keyCount: 1) - value.accountedBytes(keyCount: 0)
        let arguments: [[UInt8]] = [
            Array("EVAL".utf8), Array(RedisScripts.insert.utf8), Array(String(unique.count).utf8),
        ] + unique.map(pointerKey) + [
            options.prefix, String(limits.maxBytes), String(limits.timeToLiveMilliseconds), String(now),
            String(max(expiresAt - now, 1)), entry, String(value.accountedBytes(keyCount: 0)), String(keyBytes),
        ].map { Array($0.utf8) } + [encoded, Array(String(value.storedAtMilliseconds).utf8)]
        let serial = insertsSent + 1
        let sent = send(arguments) { [unowned self] reply in
            inserted(serial, keys: unique, reply: reply)
        }
        if sent {
            insertsSent = serial
        } else {
            statistics.failures += 1
            unsentInsert = true
        }
    }

    /// Takes in an insert's reply: the counters, the keys it made ambiguous, the waiters.
    private func inserted(_ serial: UInt64, keys: [CacheKey], reply: UnsafePointer<redisReply>?) {
        insertsAnswered = serial
        var ok = false
        if let reply, reply.pointee.type == REDIS_REPLY_ARRAY, reply.pointee.elements == 5, let elements = reply.pointee.element {
            ok = true
            let numbers = (0..<4).map { elements[$0].map { Int($0.pointee.integer) } ?? 0 }
            statistics.entries = numbers[0]
            statistics.bytes = numbers[1]
            statistics.totalsObservedNs = MonotonicClock.nowNs()
            statistics.expirations += numbers[2]
            statistics.evictions += numbers[3]
            var ambiguous: [CacheKey] = []
            if let list = elements[4], list.pointee.type == REDIS_REPLY_ARRAY {
                for i in 0..<list.pointee.elements {
                    guard let index = list.pointee.element[i].map({ Int($0.pointee.integer) }), index >= 1, index <= keys.count else { continue }
                    ambiguous.append(keys[index - 1])
                }
            }
            statistics.ambiguous += ambiguous.count
            if !ambiguous.isEmpty {
                for observer in ambiguityObservers { observer(ambiguous) }
            }
        } else {
            failed(reply == nil ? "redis connection lost" : "redis insert failed")
        }
        if !ok {
            // Every waiter that covers this insert learns it failed; so does the next one
            // registered if none does yet.
            if let last = commitWaiters.last, last.serial >= serial {
                for i in commitWaiters.indices where commitWaiters[i].serial >= serial { commitWaiters[i].ok = false }
            } else {
                unansweredFailure = true
            }
        }
        var done = 0
        while done < commitWaiters.count, commitWaiters[done].serial <= serial { done += 1 }
        guard done > 0 else { return }
        let ready = commitWaiters.prefix(done)
        commitWaiters.removeFirst(done)
        for waiter in ready { waiter.completion(waiter.ok) }
    }

    /// Calls back once Redis has answered the last insert sent before this call: true if it
    /// and every insert since the previous `whenCommitted` were stored, false if one failed,
    /// was lost with the connection, or could not be sent.
    public func whenCommitted(_ completion: @escaping (Bool) -> Void) {
        let ok = !unsentInsert && !unansweredFailure
        unsentInsert = false
        unansweredFailure = false
        guard insertsAnswered < insertsSent else { return completion(ok) }
        commitWaiters.append(CommitWaiter(serial: insertsSent, ok: ok, completion: completion))
    }

    /// `observer` learns of keys this store's inserts made ambiguous in Redis.
    public func observeAmbiguity(_ observer: @escaping ([CacheKey]) -> Void) {
        ambiguityObservers.append(observer)
    }

    /// Waits (running the loop, at most a second) until Redis has answered every command sent:
    /// for shutdown, once the loop has stopped.
    public func flush() {
        guard state == .up, replyHead < replies.count else { return }
        flushing = true
        let deadline = LoopTimer(loop: loop) { [loop] in loop.stop() }
        deadline.arm(milliseconds: 1000)
        loop.run()
        flushing = false
    }

    // MARK: Clearing

    /// Deletes `tenant`'s keys and values (every tenant's for nil) a SCAN page per round trip,
    /// then answers; false if Redis is down or fails meanwhile.
    public func clear(tenant: TenantID?, completion: @escaping (Bool) -> Void) {
        var pattern = Self.globEscaped(options.prefix)
        pattern += tenant.map { "\($0):*" } ?? "*"   // TenantID's description: its lower-case hex
        clearStep(pattern: pattern, cursor: "0", completion: completion)
    }

    private func clearStep(pattern: String, cursor: String, completion: @escaping (Bool) -> Void) {
        let sent = send([Array("EVAL".utf8), Array(RedisScripts.clearStep.utf8), Array("0".utf8)]
                        + [options.prefix, pattern, cursor, "1000"].map { Array($0.utf8) }) { [unowned self] reply in
            guard let reply, reply.pointee.type == REDIS_REPLY_ARRAY, reply.pointee.elements == 3,
                  let items = reply.pointee.element else { return completion(false) }
            let next = items[0].map { String(cString: $0.pointee.str) } ?? "0"
            let dropped = items[1].map { Int($0.pointee.integer) } ?? 0
            statistics.entries = max(0, statistics.entries - dropped)
            if let left = items[2] { statistics.bytes = Int(left.pointee.integer) }
            statistics.totalsObservedNs = MonotonicClock.nowNs()
            if next == "0" { completion(true) } else { clearStep(pattern: pattern, cursor: next, completion: completion) }
        }
        if !sent { completion(false) }
    }

    /// `text` with the glob characters of Redis' MATCH escaped.
    static func globEscaped(_ text: String) -> String {
        var out = ""
        for c in text {
            if "*?[]\\".contains(c) { out.append("\\") }
            out.append(c)
        }
        return out
    }

    // MARK: Encoding

    /// Fixed width, so that entries stored in the same millisecond sort in insertion order
    /// (the sorted set orders equal scores by name).
    private func serialHex(_ n: UInt64) -> String {
        let hex = String(n, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    private func pointerKey(_ key: CacheKey) -> [UInt8] {
        let hex = Array(key.hex.utf8)
        let tenantHexCount = TenantID.byteCount * 2
        return Array(options.prefix.utf8) + hex[..<tenantHexCount] + Array(":".utf8) + hex[tenantHexCount...]
    }

    private func decode(_ element: UnsafeMutablePointer<redisReply>, now: UInt64) -> StoredReasoning? {
        guard element.pointee.type == REDIS_REPLY_STRING, element.pointee.len >= 9, let str = element.pointee.str else { return nil }
        let bytes = UnsafeRawBufferPointer(start: str, count: element.pointee.len)
        var storedAt: UInt64 = 0
        for byte in bytes[1..<9] { storedAt = storedAt << 8 | UInt64(byte) }
        let (sum, overflow) = storedAt.addingReportingOverflow(limits.timeToLiveMilliseconds)
        guard overflow || sum > now else { return nil }
        return StoredReasoning(text: Array(UnsafeRawBufferPointer(rebasing: bytes[9...])), format: ReasoningFormat(rawValue: bytes[0]), storedAtMilliseconds: storedAt)
    }
}

/// A `whenCommitted` call waiting for the reply to insert `serial`.
private struct CommitWaiter {
    var serial: UInt64
    var ok: Bool
    var completion: (Bool) -> Void
}

/// One lookup's race between Redis's answer and its deadline.
private final class LookupWait {
    var done = false
    var timer: LoopTimer?

    func finish() {
        done = true
        timer?.cancel()
        timer = nil
    }
}
