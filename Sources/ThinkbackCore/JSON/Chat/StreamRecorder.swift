/// The capture of a streamed chat answer as its bytes pass to the client: the SSE events
/// parsed (`SSEParser`), their data assembled (`StreamCapture`). Bytes in, choices out.
///
/// Each read is seen once, in place; nothing of it is kept but what the parser and the
/// capture keep.
public struct StreamRecorder: Sendable {
    private var parser = SSEParser()
    private var capture = StreamCapture()

    public init() {}

    /// Parses one read; true once `[DONE]` arrived (the capture has then all it takes).
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) -> Bool {
        parser.feed(bytes) { capture.feed($0.data) }
        return capture.sawDone
    }

    /// Ends the parse — a last event without its blank line still counts — and returns the
    /// answer's choices if the stream completed normally: `completed` (its `[DONE]` arrived,
    /// or the upstream finished without failing) and the capture complete.
    public mutating func finish(completed: Bool) -> [CapturedChoice]? {
        parser.finish { capture.feed($0.data) }
        guard completed else { return nil }
        return capture.result()
    }
}
