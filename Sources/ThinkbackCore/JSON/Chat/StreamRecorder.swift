/// The capture of a streamed chat answer as its bytes pass to the client: the SSE events
/// parsed (`SSEParser`), their data assembled (`StreamCapture`). Bytes in, choices out.
///
/// Each read is seen once, in place; nothing of it is kept but what the parser and the
/// capture keep — at most `limit` bytes: a stream whose capture would hold more is relayed
/// without it (`isOverLimit`), never collected without a bound.
public struct StreamRecorder: Sendable {
    private var parser = SSEParser()
    private var capture = StreamCapture()
    private let limit: Int
    /// The capture would have held more than `limit` bytes: it was dropped, and the stream is
    /// not recorded.
    public private(set) var isOverLimit = false

    public init(limit: Int = .max) {
        self.limit = limit
    }

    /// Parses one read; true once `[DONE]` arrived (the capture has then all it takes).
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard !isOverLimit else { return false }
        parser.feed(bytes) { capture.feed($0.data) }
        if capture.byteCount &+ parser.bufferedByteCount > limit {
            isOverLimit = true
            parser = SSEParser()
            capture = StreamCapture()
            return false
        }
        return capture.sawDone
    }

    /// Ends the parse — a last event without its blank line still counts — and returns the
    /// answer's choices if the stream completed normally: `completed` (its `[DONE]` arrived,
    /// or the upstream finished without failing) and the capture complete.
    public mutating func finish(completed: Bool) -> [CapturedChoice]? {
        guard !isOverLimit else { return nil }
        parser.finish { capture.feed($0.data) }
        guard completed else { return nil }
        return capture.result()
    }
}
