#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The time as stores see it, injected so time-to-live tests are exact.
public protocol StoreClock {
    /// Milliseconds since the Unix epoch.
    func nowMilliseconds() -> UInt64
}

/// The wall clock. Wall time rather than a monotonic clock, because stored times outlive the
/// process (SQLite) and are shared between machines (Redis).
public struct SystemStoreClock: StoreClock, Sendable {
    /// The system's real-time clock.
    public init() {}

    public func nowMilliseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return UInt64(max(now.tv_sec, 0)) * 1000 + UInt64(max(now.tv_nsec, 0)) / 1_000_000
    }
}

/// A clock that moves only when told to: for tests.
public final class ManualStoreClock: StoreClock {
    /// The current time in milliseconds.
    public var now: UInt64

    /// A clock showing `now` (by default an arbitrary fixed instant in 2026).
    public init(now: UInt64 = 1_780_000_000_000) {
        self.now = now
    }

    /// Moves the clock forward by `milliseconds`.
    public func advance(by milliseconds: UInt64) {
        now += milliseconds
    }

    public func nowMilliseconds() -> UInt64 { now }
}
