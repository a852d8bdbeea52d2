/// A stream's capture in its wire format's recorder.
public enum AnyStreamRecorder: Sendable {
    case chat(StreamRecorder)
    case anthropic(AnthropicStreamRecorder)

    /// What a completed stream recorded.
    public enum Captured: Sendable {
        case chat([CapturedChoice])
        case anthropic(CapturedAnthropicMessage)
    }

    public init(api: Route.API, limit: Int) {
        switch api {
        case .openAI: self = .chat(StreamRecorder(limit: limit))
        case .anthropic: self = .anthropic(AnthropicStreamRecorder(limit: limit))
        }
    }

    /// Parses one read; true once the stream's end event (`[DONE]`, `message_stop`) arrived.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) -> Bool {
        switch self {
        case .chat(var r):
            let done = r.feed(bytes)
            self = .chat(r)
            return done
        case .anthropic(var r):
            let done = r.feed(bytes)
            self = .anthropic(r)
            return done
        }
    }

    public var isOverLimit: Bool {
        switch self {
        case .chat(let r): r.isOverLimit
        case .anthropic(let r): r.isOverLimit
        }
    }

    /// The answer, if the stream completed normally.
    public mutating func finish(completed: Bool) -> Captured? {
        switch self {
        case .chat(var r):
            defer { self = .chat(r) }
            return r.finish(completed: completed).map { .chat($0) }
        case .anthropic(var r):
            defer { self = .anthropic(r) }
            return r.finish(completed: completed).map { .anthropic($0) }
        }
    }
}
