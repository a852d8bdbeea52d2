/// The life of a started stream, without I/O (style.md "Pure cores"): the runtime feeds
/// events and carries out the returned action in one `switch`. The machine decides; the
/// runtime keeps the bytes.
///
/// Backpressure (product.md §6): upstream reads go to the client while its ring has room; a
/// full ring pauses the upstream until the ring drains.
///
/// Group commit (product.md §1): the client may ask its next question as soon as it has
/// `[DONE]`, so from the read that carried it on — once its capture is recorded and the
/// store's commit is awaited — reads are held, at most `holdLimit` bytes (past it the upstream
/// is paused), until the commit gate releases them. The end of the stream waits for that
/// release too.
///
/// The invariant it keeps: the stream ends exactly once, by `.endStream` or `.abandon`;
/// afterwards every event is answered `.none` (a read: `.drop`).
public struct StreamStateMachine: Sendable {
    public enum State: Sendable, Equatable {
        /// Reads go to the client as they come.
        case flowing
        /// The client's ring was full: the upstream is paused until it drains.
        case pausedForClient
        /// Reads from `[DONE]` on are held for the capture's commit.
        case holding(Hold)
        case finished
    }

    /// The tail held for a commit.
    public struct Hold: Sendable, Equatable {
        /// Bytes held so far (the runtime keeps them).
        public var bytes: Int
        /// The gate let them go: they wait only for room in the client's ring.
        public var released: Bool
        public var upstream: Upstream

        public init(bytes: Int, released: Bool = false, upstream: Upstream = .running) {
            self.bytes = bytes
            self.released = released
            self.upstream = upstream
        }
    }

    /// The upstream transfer, as a hold sees it.
    public enum Upstream: Sendable, Equatable {
        case running
        /// Paused past the hold's bound, until the tail goes.
        case paused
        /// It finished; the stream ends once the tail is out.
        case ended(completed: Bool)
    }

    public enum Event: Sendable, Equatable {
        /// A read from the upstream.
        case upstreamBytes(count: Int)
        /// Reply to `.forward`: the client's ring had no room.
        case clientFull
        /// Reply to `.forward`: the read carried `[DONE]`, its capture is recorded and the
        /// store's commit is awaited.
        case commitAwaited(count: Int)
        /// The client's ring drained to its low mark.
        case clientDrained
        /// The commit gate let the tail go (the capture committed, or the wait timed out).
        case commitReleased
        /// Reply to `.writeTail`: the client's ring took the held tail.
        case tailWritten
        /// The upstream transfer finished; `completed` unless it failed.
        case upstreamDone(completed: Bool)
        case clientGone
    }

    public enum Action: Sendable, Equatable {
        /// Give the read to the client: without room in its ring, answer `.clientFull`;
        /// else let the capture see it, then queue it — or answer `.commitAwaited` when the
        /// capture's commit is awaited.
        case forward
        /// Append the read to the held tail.
        case hold
        /// Refuse the read: the transfer pauses and gives the same bytes again once resumed.
        case pauseUpstream
        case resumeUpstream
        /// Take the read and drop it: the stream is over.
        case drop
        /// Queue the held tail once the client's ring has room (`.clientDrained` comes back
        /// when it has none), then answer `.tailWritten`.
        case writeTail
        /// End the client's stream cleanly; `completed`: the upstream did not fail.
        case endStream(completed: Bool)
        /// Abort the transfer and forget the stream: the client left.
        case abandon
        case none
    }

    /// The most bytes held after `[DONE]` while its capture commits.
    public static let defaultHoldLimit = 64 << 10

    public private(set) var state: State = .flowing
    public let holdLimit: Int

    public init(holdLimit: Int = StreamStateMachine.defaultHoldLimit) {
        self.holdLimit = holdLimit
    }

    public var isFinished: Bool { state == .finished }

    public mutating func handle(_ event: Event) -> Action {
        switch (state, event) {
        case (.finished, .upstreamBytes):
            return .drop

        case (.finished, _):
            return .none

        case (_, .clientGone):
            state = .finished
            return .abandon

        case (.flowing, .upstreamBytes), (.pausedForClient, .upstreamBytes):
            // After a resume curl gives the refused read again.
            state = .flowing
            return .forward

        case (.flowing, .clientFull):
            state = .pausedForClient
            return .pauseUpstream

        case (.pausedForClient, .clientDrained):
            state = .flowing
            return .resumeUpstream

        case let (.flowing, .commitAwaited(count)):
            state = .holding(Hold(bytes: count))
            return .hold

        case let (.flowing, .upstreamDone(completed)), let (.pausedForClient, .upstreamDone(completed)):
            state = .finished
            return .endStream(completed: completed)

        case (.holding(var hold), .upstreamBytes(let count)):
            guard hold.bytes + count <= holdLimit else {
                hold.upstream = .paused
                state = .holding(hold)
                return .pauseUpstream
            }
            hold.bytes += count
            state = .holding(hold)
            return .hold

        case (.holding(var hold), .commitReleased) where !hold.released:
            hold.released = true
            guard hold.bytes > 0 else { return tailGone(hold) }
            state = .holding(hold)
            return .writeTail

        case (.holding(let hold), .clientDrained) where hold.released:
            return .writeTail

        case (.holding(let hold), .tailWritten) where hold.released:
            return tailGone(hold)

        case (.holding(var hold), .upstreamDone(let completed)):
            hold.upstream = .ended(completed: completed)
            state = .holding(hold)
            return .none

        default:
            return .none
        }
    }

    /// The held tail reached the client's ring: the stream ends if the upstream has, else
    /// flows again.
    private mutating func tailGone(_ hold: Hold) -> Action {
        switch hold.upstream {
        case .ended(let completed):
            state = .finished
            return .endStream(completed: completed)
        case .paused:
            state = .flowing
            return .resumeUpstream
        case .running:
            state = .flowing
            return .none
        }
    }
}
