import CLibEvent
import ThinkbackCore
#if canImport(Glibc)
import Glibc
#endif

public struct RuntimeError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The one event-loop thread of a process: libevent's event_base with curl's multi handle on it.
/// Everything mutable in the runtime belongs to this thread (style.md "The loop").
public final class EventLoop {
    let raw: OpaquePointer
    private var thread: pthread_t?

    public init() throws {
        guard let raw = cle_loop_new() else { throw RuntimeError("cannot create the event loop") }
        self.raw = raw
        _ = Self.fastHashing
    }

    /// Cache keys hash with libcrypto's SHA-256 block function (the CPU's SHA extensions, about
    /// ten times the portable one); installed once per process, before the first request.
    private static let fastHashing: Void = { SHA256.blockFunction = cle_sha256_blocks }()

    deinit { cle_loop_free(raw) }

    /// Runs the loop on the calling thread until `stop()`.
    public func run() {
        thread = pthread_self()
        _ = cle_loop_run(raw)
    }

    /// Makes `run()` return after the current callback.
    public func stop() { cle_loop_break(raw) }

    /// Milliseconds from the loop's cached clock.
    public var nowMs: UInt64 { cle_loop_now_ms(raw) }

    /// Traps in debug builds when called off the loop thread.
    @inline(__always)
    public func assertOnLoop(file: StaticString = #fileID, line: UInt = #line) {
        assert(thread.map { pthread_equal($0, pthread_self()) != 0 } ?? true,
               "called off the event-loop thread", file: file, line: line)
    }
}

/// A one-shot timer on the loop. It cannot fire after it is released.
public final class LoopTimer {
    private var raw: OpaquePointer?
    private let action: () -> Void

    public init(loop: EventLoop, action: @escaping () -> Void) {
        self.action = action
        // Unretained: the timer owns the C timer and frees it in deinit, so no callback can
        // outlive self.
        raw = cle_timer_new(loop.raw, { ctx in
            Unmanaged<LoopTimer>.fromOpaque(ctx!).takeUnretainedValue().action()
        }, nil)
        if let raw { cle_timer_set_context(raw, Unmanaged.passUnretained(self).toOpaque()) }
    }

    deinit { if let raw { cle_timer_free(raw) } }

    /// (Re)arms the timer; 0 runs it in the current loop pass.
    public func arm(milliseconds: UInt64) { if let raw { cle_timer_arm(raw, milliseconds) } }
    public func cancel() { if let raw { cle_timer_cancel(raw) } }
}

/// Delivers a POSIX signal on the loop thread.
public final class LoopSignal {
    private var raw: OpaquePointer?
    private let action: () -> Void

    public init(loop: EventLoop, signal: Int32, action: @escaping () -> Void) {
        self.action = action
        raw = cle_signal_new(loop.raw, signal, { ctx in
            Unmanaged<LoopSignal>.fromOpaque(ctx!).takeUnretainedValue().action()
        }, nil)
        if let raw { cle_signal_set_context(raw, Unmanaged.passUnretained(self).toOpaque()) }
    }

    deinit { if let raw { cle_signal_free(raw) } }
}
