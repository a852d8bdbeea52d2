/// What the server must send back for one request.
public enum SimResponse {
    /// A whole response, sent at once.
    case full(status: Int, headers: [(String, String)], body: [UInt8])
    /// A response sent in timed pieces: status and headers, then `events` one by one as
    /// ``SimStreamPlan`` says. For an SSE stream each element is one complete event
    /// (`data: {…}\n\n`, Anthropic's with its `event:` line), the last being `data: [DONE]\n\n`
    /// on OpenAI routes. A non-stream answer that carries timing or fault knobs also comes as
    /// `.stream`, its body as a single element: the body is always the concatenation.
    case stream(status: Int, headers: [(String, String)], events: [[UInt8]], plan: SimStreamPlan)
    /// No answer at all: the server closes the connection once it has read the request
    /// (`x-sim-hang-up`), as a keep-alive peer that timed the connection out does.
    case hangUp

    /// The HTTP status.
    public var status: Int {
        switch self {
        case .full(let status, _, _), .stream(let status, _, _, _): return status
        case .hangUp: return 0
        }
    }

    /// The response headers (no `Content-Length`: the server adds framing).
    public var headers: [(String, String)] {
        switch self {
        case .full(_, let headers, _), .stream(_, let headers, _, _): return headers
        case .hangUp: return []
        }
    }

    /// The whole body: for `.stream`, all events concatenated (what a client receives when no
    /// fault cuts the stream).
    public var body: [UInt8] {
        switch self {
        case .full(_, _, let body): return body
        case .stream(_, _, let events, _): return events.flatMap { $0 }
        case .hangUp: return []
        }
    }

    /// The delivery plan, for `.stream`.
    public var plan: SimStreamPlan? {
        if case .stream(_, _, _, let plan) = self { return plan }
        return nil
    }
}

/// How the server paces a `.stream` response.
public struct SimStreamPlan: Sendable, Equatable {
    /// Wait this long before sending the status line and headers.
    public var firstByteDelayMs: Int
    /// Wait this long between two events (the first event follows the headers at once).
    public var eventIntervalMs: Double
    /// After sending this many events, close the connection abruptly (no terminating chunk).
    public var dropAfterEvents: Int?
    /// After sending this many events, send nothing more but keep the connection open until
    /// the client goes away.
    public var stallAfterEvents: Int?
    /// After the last event, wait this long before ending the response.
    public var holdEndMs: Int

    /// A plan; all knobs off by default.
    public init(
        firstByteDelayMs: Int = 0, eventIntervalMs: Double = 0,
        dropAfterEvents: Int? = nil, stallAfterEvents: Int? = nil, holdEndMs: Int = 0
    ) {
        self.firstByteDelayMs = firstByteDelayMs
        self.eventIntervalMs = eventIntervalMs
        self.dropAfterEvents = dropAfterEvents
        self.stallAfterEvents = stallAfterEvents
        self.holdEndMs = holdEndMs
    }

    /// Whether the plan asks for anything but immediate delivery.
    public var isTrivial: Bool {
        firstByteDelayMs == 0 && eventIntervalMs == 0 && dropAfterEvents == nil && stallAfterEvents == nil && holdEndMs == 0
    }
}
