/// What assembles one wire format's streamed answer from its SSE events' data.
public protocol SSEAnswerCapture: Sendable {
    associatedtype Answer: Sendable
    init()
    /// One event's `data`.
    mutating func feed(_ data: UnsafeRawBufferPointer)
    /// Bytes held so far (the recorder's bound).
    var byteCount: Int { get }
    /// The stream's end event arrived (`[DONE]`, `message_stop`).
    var sawEnd: Bool { get }
    /// The answer, if the stream completed as its format says.
    func result() -> Answer?
}

/// The capture of a streamed answer as its bytes pass to the client: the SSE events parsed
/// (`SSEParser`), their data assembled (`StreamCapture` for chat, `AnthropicStreamCapture`).
/// Bytes in, the answer out.
///
/// Each read is seen once, in place; nothing of it is kept but what the parser and the
/// capture keep — at most `limit` bytes: a stream whose capture would hold more is relayed
/// without it (`isOverLimit`), never collected without a bound.
public struct SSERecorder<Capture: SSEAnswerCapture>: Sendable {
    private var parser = SSEParser()
    private var capture = Capture()
    private let limit: Int
    /// The capture would have held more than `limit` bytes: it was dropped, and the stream is
    /// not recorded.
    public private(set) var isOverLimit = false

    public init(limit: Int = .max) {
        self.limit = limit
    }

    /// Parses one read; true once the end event arrived (the capture has then all it takes).
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard !isOverLimit else { return false }
        parser.feed(bytes) { capture.feed($0.data) }
        if capture.byteCount &+ parser.bufferedByteCount > limit {
            isOverLimit = true
            parser = SSEParser()
            capture = Capture()
            return false
        }
        return capture.sawEnd
    }

    /// Ends the parse — a last event without its blank line still counts — and returns the
    /// answer if the stream completed normally: `completed` (its end event arrived, or the
    /// upstream finished without failing) and the capture complete.
    public mutating func finish(completed: Bool) -> Capture.Answer? {
        guard !isOverLimit else { return nil }
        parser.finish { capture.feed($0.data) }
        guard completed else { return nil }
        return capture.result()
    }
}

/// A streamed chat answer's recorder: its choices.
public typealias StreamRecorder = SSERecorder<StreamCapture>

extension StreamCapture: SSEAnswerCapture {
    public var sawEnd: Bool { sawDone }
}
