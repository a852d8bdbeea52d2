/// A ring of per-second counts (issue 20's status page chart): each tick takes the totals of a
/// few counters and keeps how much each grew in that second, for the last `capacity` seconds.
public struct SecondCounters: Sendable {
    public let capacity: Int
    private var last: [Int]
    private var rings: [[Int]]
    private var next = 0
    private var filled = 0

    /// `series` counters, `capacity` seconds.
    public init(series: Int, capacity: Int = 300) {
        self.capacity = max(1, capacity)
        last = Array(repeating: 0, count: series)
        rings = Array(repeating: Array(repeating: 0, count: self.capacity), count: series)
    }

    /// One second passed; `totals` are the counters' values now (same order as ever). A total
    /// that went down (a counter reset) counts as 0 for that second.
    public mutating func tick(_ totals: [Int]) {
        for (i, total) in totals.prefix(last.count).enumerated() {
            rings[i][next] = max(0, total - last[i])
            last[i] = total
        }
        next = (next + 1) % capacity
        filled = min(filled + 1, capacity)
    }

    /// Sets the baseline without recording a second (at start).
    public mutating func start(_ totals: [Int]) {
        for (i, total) in totals.prefix(last.count).enumerated() { last[i] = total }
    }

    /// Series `i`, oldest second first.
    public func series(_ i: Int) -> [Int] {
        (0 ..< filled).map { rings[i][(next - filled + $0 + capacity) % capacity] }
    }
}
