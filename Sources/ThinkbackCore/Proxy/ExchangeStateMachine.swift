/// How an upstream transfer ended, as far as the proxy cares.
public enum TransferOutcome: Sendable, Equatable {
    /// The whole response arrived.
    case completed
    /// No connection could be made (refused, DNS, TLS handshake): safe to retry.
    case connectFailed(String)
    /// A deadline passed (connect, or silence inside a stream).
    case timedOut(String)
    /// The connection broke after it was made.
    case failed(String)
}

/// The lifecycle of one proxied request, without I/O (style.md "Pure cores"): the runtime
/// feeds events and carries out the returned action in one `switch`.
///
/// The invariant it keeps: a retry happens only while no byte has reached the client;
/// once the stream started, failures end the stream and nothing else.
public struct ExchangeStateMachine: Sendable {
    public enum State: Sendable, Equatable {
        case idle
        /// A transfer is running; nothing heard yet.
        case awaitingHead(attempt: Int)
        /// The upstream answered with a whole-body response: collecting it.
        case buffering(attempt: Int, status: Int, retryAfterMs: UInt64?)
        /// Bytes are flowing to the client: committed.
        case streaming
        /// Waiting before the next attempt.
        case backingOff(attempt: Int)
        /// A whole 400 arrived for a request that carried placeholders: is it the provider's
        /// "must be passed back" refusal? (`auto`, product.md §3)
        case inspectingRefusal(attempt: Int)
        case finished
    }

    public enum Event: Sendable, Equatable {
        case start
        case headComplete(status: Int, isEventStream: Bool, retryAfterMs: UInt64?)
        case transferDone(TransferOutcome)
        case firstByteTimeout
        case retryTimerFired
        case clientGone
        /// A whole answer grew past `--max-response-bytes` while being collected.
        case responseTooLarge
        /// The buffered 400 is the refusal and a rewritten body is ready: try again at once.
        case refusalConfirmed
        /// The buffered 400 is some other error: pass it on.
        case notARefusal
        /// thinkback itself cannot go on with the request (an allocation failed): answered
        /// with `error` unless the stream already started (then the stream's end is the
        /// stream machine's).
        case failed(ProxyError)
    }

    public enum Action: Sendable, Equatable {
        /// Start attempt N (1-based) and arm the first-byte deadline.
        case startAttempt(Int)
        /// Cancel the first-byte deadline and send the head to the client; forward body bytes
        /// as they come.
        case startStream(status: Int)
        /// Cancel the first-byte deadline; collect body bytes.
        case startBuffering
        /// Send the collected upstream response as it is.
        case replyBuffered
        /// Look at the collected 400: answer `.refusalConfirmed` or `.notARefusal`.
        case inspectRefusal
        /// Drop the collected body and wait `delayMs` before the next attempt.
        case scheduleRetry(delayMs: UInt64)
        /// Abort the transfer (if any) and answer with thinkback's own error.
        case replyError(ProxyError)
        /// The upstream is done: the stream ends, cleanly even after a failure, when
        /// `StreamStateMachine` says (its held tail first).
        case endStream
        /// Abort the transfer and forget the request: the client left.
        case abandon
        case none
    }

    public private(set) var state: State = .idle
    public let retry: RetryPolicy
    /// Set while the request carries placeholders that `auto` may replace once: a 400 is then
    /// inspected before it is passed on. The fallback happens at most once.
    public var refusalFallbackArmed = false
    /// Uniform [0, 1): injected so tests are exact.
    private let random: @Sendable () -> Double

    public init(retry: RetryPolicy, random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }) {
        self.retry = retry
        self.random = random
    }

    public var isCommitted: Bool { state == .streaming || state == .finished }

    public mutating func handle(_ event: Event) -> Action {
        switch (state, event) {
        case (.idle, .start):
            state = .awaitingHead(attempt: 1)
            return .startAttempt(1)

        case (.finished, _):
            return .none

        case (_, .clientGone):
            state = .finished
            return .abandon

        case (.streaming, .failed):
            return .none

        case (_, .failed(let error)):
            state = .finished
            return .replyError(error)

        case let (.awaitingHead(attempt), .headComplete(status, isEventStream, retryAfter)):
            if isEventStream && (200...299).contains(status) {
                state = .streaming
                return .startStream(status: status)
            }
            state = .buffering(attempt: attempt, status: status, retryAfterMs: retryAfter)
            return .startBuffering

        case let (.awaitingHead(attempt), .transferDone(outcome)):
            switch outcome {
            case .completed:
                // A response without a complete head: treat as a broken connection.
                return retryOrFail(attempt: attempt, retryAfterMs: nil,
                                   error: .unreachable("the provider closed the connection without answering"))
            case .connectFailed(let detail):
                return retryOrFail(attempt: attempt, retryAfterMs: nil, error: .unreachable(detail))
            case .failed(let detail):
                return retryOrFail(attempt: attempt, retryAfterMs: nil, error: .unreachable(detail))
            case .timedOut(let detail):
                state = .finished
                return .replyError(.timeout(detail))
            }

        case (.awaitingHead, .firstByteTimeout):
            state = .finished
            return .replyError(.timeout("no response within the first-byte deadline"))

        case let (.buffering(attempt, status, retryAfter), .transferDone(outcome)):
            switch outcome {
            case .completed:
                if status == 400 && refusalFallbackArmed {
                    state = .inspectingRefusal(attempt: attempt)
                    return .inspectRefusal
                }
                if RetryPolicy.isRetryable(status: status),
                   let delay = retry.delay(afterAttempt: attempt, retryAfterMs: retryAfter, random: random()) {
                    state = .backingOff(attempt: attempt)
                    return .scheduleRetry(delayMs: delay)
                }
                state = .finished
                return .replyBuffered
            case .connectFailed(let detail), .failed(let detail):
                return retryOrFail(attempt: attempt, retryAfterMs: nil, error: .unreachable(detail))
            case .timedOut(let detail):
                state = .finished
                return .replyError(.timeout(detail))
            }

        case let (.backingOff(attempt), .retryTimerFired):
            state = .awaitingHead(attempt: attempt + 1)
            return .startAttempt(attempt + 1)

        case let (.inspectingRefusal(attempt), .refusalConfirmed):
            refusalFallbackArmed = false
            state = .awaitingHead(attempt: attempt + 1)
            return .startAttempt(attempt + 1)

        case (.inspectingRefusal, .notARefusal):
            state = .finished
            return .replyBuffered

        case (.buffering, .responseTooLarge):
            state = .finished
            return .replyError(.responseTooLarge())

        case (.streaming, .transferDone):
            state = .finished
            return .endStream

        default:
            return .none
        }
    }

    private mutating func retryOrFail(attempt: Int, retryAfterMs: UInt64?, error: ProxyError) -> Action {
        if let delay = retry.delay(afterAttempt: attempt, retryAfterMs: retryAfterMs, random: random()) {
            state = .backingOff(attempt: attempt)
            return .scheduleRetry(delayMs: delay)
        }
        state = .finished
        return .replyError(error)
    }
}
