/// Request counters of `/sim/stats`.
struct SimStats {
    /// Every request `handle` saw.
    var requests = 0
    /// Requests to a chat route (OpenAI or Anthropic).
    var chatRequests = 0
    /// Outcome of each chat request: `accepted`, a ``RefusalKind`` raw value, `unauthorized`,
    /// `knob_error`, `fault_status`, `fault_hang_up`, `fast`.
    var verdicts: [String: Int] = [:]
    /// Stream faults handed to the server: `drop`, `stall`.
    var faults: [String: Int] = [:]

    static let verdictKeys =
        ["accepted", "fast", "unauthorized", "knob_error", "fault_status", "fault_hang_up"] + RefusalKind.allCases.map(\.rawValue)

    mutating func count(_ verdict: String) { verdicts[verdict, default: 0] += 1 }

    var json: SimJSON {
        .object(Self.verdictKeys.map { SimJSONMember($0, .int(verdicts[$0] ?? 0)) })
    }
}

/// The last chat request bodies, newest last (`GET /sim/last?n=1` is the newest).
struct RequestRing {
    let capacity: Int
    private(set) var bodies: [[UInt8]] = []

    init(capacity: Int) { self.capacity = capacity }

    mutating func append(_ body: [UInt8]) {
        bodies.append(body)
        if bodies.count > capacity { bodies.removeFirst(bodies.count - capacity) }
    }

    /// The `n`-th last body (1 = newest).
    func last(_ n: Int) -> [UInt8]? {
        guard n >= 1, n <= bodies.count else { return nil }
        return bodies[bodies.count - n]
    }

    mutating func removeAll() { bodies.removeAll() }
}
