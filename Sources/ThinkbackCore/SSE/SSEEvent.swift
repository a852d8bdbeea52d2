/// A dispatched server-sent event, borrowed: `data` points into the parser's buffer and is
/// valid only during the callback that receives it (copy it with `SSEEvent(self)` to keep it).
public struct SSEEventView {
    /// The `event:` field, or `nil` when the event had none (the default type "message").
    public let event: String?
    /// The data lines joined with LF (no trailing LF).
    public let data: UnsafeRawBufferPointer
    /// The last event id seen on the stream so far (`id:` persists across events).
    public let lastEventId: String?

    /// Whether the data is `[DONE]`, OpenAI's end-of-stream marker.
    public var isDone: Bool { Self.isDoneMarker(data) }

    /// Whether `data` is `[DONE]` (surrounding ASCII whitespace allowed).
    public static func isDoneMarker(_ data: UnsafeRawBufferPointer) -> Bool {
        var lo = 0
        var hi = data.count
        while lo < hi, data[lo] == 0x20 || data[lo] == 0x09 || data[lo] == 0x0A || data[lo] == 0x0D { lo += 1 }
        while hi > lo, data[hi - 1] == 0x20 || data[hi - 1] == 0x09 || data[hi - 1] == 0x0A || data[hi - 1] == 0x0D { hi -= 1 }
        guard hi - lo == 6 else { return false }
        let done: StaticString = "[DONE]"
        for k in 0 ..< 6 where data[lo + k] != done.utf8Start[k] { return false }
        return true
    }
}

/// A server-sent event with its own copy of the data.
public struct SSEEvent: Sendable, Equatable {
    /// The `event:` field, or `nil`.
    public var event: String?
    /// The data lines joined with LF.
    public var data: [UInt8]
    /// The last event id seen on the stream so far.
    public var lastEventId: String?

    /// Creates an event.
    public init(event: String? = nil, data: [UInt8], lastEventId: String? = nil) {
        self.event = event
        self.data = data
        self.lastEventId = lastEventId
    }

    /// Copies a borrowed event.
    public init(_ view: SSEEventView) {
        self.init(event: view.event, data: Array(view.data), lastEventId: view.lastEventId)
    }

    /// Whether the data is `[DONE]`.
    public var isDone: Bool { data.withUnsafeBytes { SSEEventView.isDoneMarker($0) } }
}
