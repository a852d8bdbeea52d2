/// When and how soon to try the upstream again (docs/product.md §6): connection failures,
/// 429 and 5xx, with exponential backoff and full jitter, honouring `Retry-After` — and only
/// while no byte has reached the client.
public struct RetryPolicy: Sendable, Equatable {
    public var maxAttempts: Int
    public var baseDelayMs: UInt64
    public var maxDelayMs: UInt64

    public init(maxAttempts: Int = 3, baseDelayMs: UInt64 = 200, maxDelayMs: UInt64 = 10_000) {
        self.maxAttempts = maxAttempts
        self.baseDelayMs = baseDelayMs
        self.maxDelayMs = maxDelayMs
    }

    /// Whether an upstream status is worth another attempt.
    public static func isRetryable(status: Int) -> Bool {
        status == 429 || (500...599).contains(status) && status != 501 && status != 505
    }

    /// The delay before attempt `attempt + 1` (attempt counts from 1), or nil when attempts
    /// are used up or the server asked for longer than `maxDelayMs`.
    /// `random` is a uniform value in [0, 1) (injected so tests are exact).
    public func delay(afterAttempt attempt: Int, retryAfterMs: UInt64?, random: Double) -> UInt64? {
        guard attempt < maxAttempts else { return nil }
        if let asked = retryAfterMs {
            return asked <= maxDelayMs ? asked : nil
        }
        let exp = baseDelayMs << UInt64(min(attempt - 1, 20))
        let cap = min(exp, maxDelayMs)
        // Full jitter, but never less than half the step so attempts stay spaced.
        return cap / 2 + UInt64(Double(cap / 2) * random)
    }

    /// Parses `Retry-After`: delta-seconds (fractions accepted) — HTTP dates are treated as
    /// absent since providers send seconds.
    public static func parseRetryAfter(_ value: String) -> UInt64? {
        let trimmed = value.trimmingASCIIWhitespace()
        guard let seconds = Double(trimmed), seconds >= 0, seconds.isFinite, seconds < 86_400 else { return nil }
        return UInt64(seconds * 1000)
    }
}

extension String {
    func trimmingASCIIWhitespace() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" || f == "\r" || f == "\n" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" || l == "\n" { s.removeLast() }
        return String(s)
    }
}
