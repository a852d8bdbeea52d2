import CByteClass

/// An incremental parser for `text/event-stream` (the WHATWG HTML "server-sent events"
/// interpretation rules), fed arbitrary byte chunks.
///
/// Lines end in LF, CRLF or CR, and a CRLF may be split across chunks. Comment lines
/// (starting with `:`) are ignored; `data:` lines accumulate (joined with LF); `event:` names
/// the event; `id:` sets the last event id (ignored if it contains NUL); `retry:` sets the
/// reconnection time when it is all digits; unknown fields are ignored; one space after the
/// colon is dropped. A blank line dispatches the event if it has data (an event with only
/// `event:` or comments dispatches nothing). A leading UTF-8 BOM is skipped.
///
/// Memory: only the current partial line and the current event's data are kept; complete
/// lines are read in place from the chunk given, and so is an event's data when it is one
/// `data:` line inside one chunk (the usual case: no copy at all). What is kept is released
/// once used: a proxied stream can idle for minutes between events.
public struct SSEParser: Sendable {
    private var line: [UInt8] = []
    private var data: [UInt8] = []
    private var hasData = false
    private var eventName: String?
    /// The last `id:` value seen (persists across events, as the spec says).
    public private(set) var lastEventId: String?
    /// The last valid `retry:` value, in milliseconds.
    public private(set) var retry: Int?
    private var pendingCR = false
    private var atStreamStart = true

    /// A parser at the start of a stream.
    public init() {}

    /// Bytes held for an event not yet complete (partial line plus data so far).
    public var bufferedByteCount: Int { line.count + data.count }

    /// Parses `bytes`, calling `onEvent` for every event completed by them.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer, onEvent: (SSEEventView) -> Void) {
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
        let n = bytes.count
        // The current event's only data line so far, in place in `bytes`: copied into `data`
        // before this call returns (or when a second data line comes), never kept past it.
        var held: UnsafeRawBufferPointer?
        defer { keep(&held) }
        var i = 0
        if pendingCR {
            pendingCR = false
            if base[0] == 0x0A { i = 1 }
        }
        while i < n {
            var j = i
            // To the line's end, sixteen bytes at a time, then byte by byte.
            while j &+ 16 <= n {
                let ends = tb_line_ends16(base + j)
                if ends != 0 {
                    j &+= ends.trailingZeroBitCount
                    break
                }
                j &+= 16
            }
            while j < n, base[j] != 0x0A, base[j] != 0x0D { j += 1 }
            if j == n {
                line.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[i ..< n]))
                return
            }
            if line.isEmpty {
                processLine(UnsafeRawBufferPointer(rebasing: bytes[i ..< j]), inPlace: true, &held, onEvent)
            } else {
                line.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[i ..< j]))
                processBufferedLine(&held, onEvent)
            }
            if base[j] == 0x0D {
                if j + 1 < n {
                    if base[j + 1] == 0x0A { j += 1 }
                } else {
                    pendingCR = true
                }
            }
            i = j + 1
        }
    }

    /// Parses a byte array; see `feed(_:onEvent:)`.
    public mutating func feed(_ bytes: [UInt8], onEvent: (SSEEventView) -> Void) {
        bytes.withUnsafeBytes { feed($0, onEvent: onEvent) }
    }

    /// Parses `bytes` and returns the completed events as owned copies.
    public mutating func feed(_ bytes: [UInt8]) -> [SSEEvent] {
        var events: [SSEEvent] = []
        feed(bytes) { events.append(SSEEvent($0)) }
        return events
    }

    /// Ends the stream. The spec discards an event not terminated by a blank line; this
    /// lenient end instead treats a pending line as complete and dispatches the pending event
    /// (useful for an error body framed as `data: {…}` without the final blank line).
    public mutating func finish(onEvent: (SSEEventView) -> Void) {
        var held: UnsafeRawBufferPointer?
        if !line.isEmpty { processBufferedLine(&held, onEvent) }
        dispatch(&held, onEvent)
        pendingCR = false
    }

    /// Processes the line assembled in `line` and empties it.
    private mutating func processBufferedLine(_ held: inout UnsafeRawBufferPointer?, _ onEvent: (SSEEventView) -> Void) {
        var complete: [UInt8] = []
        swap(&complete, &line)
        complete.withUnsafeBytes { processLine($0, inPlace: false, &held, onEvent) }
    }

    /// Copies a data line read in place into `data`, before its bytes go away.
    private mutating func keep(_ held: inout UnsafeRawBufferPointer?) {
        guard let value = held else { return }
        held = nil
        data.append(contentsOf: value)
        data.append(0x0A)
    }


    /// `inPlace`: `raw` stays valid until the current `feed` returns (a data value may then be
    /// held in place rather than copied).
    private mutating func processLine(_ raw: UnsafeRawBufferPointer, inPlace: Bool,
                                      _ held: inout UnsafeRawBufferPointer?, _ onEvent: (SSEEventView) -> Void) {
        var lineBytes = raw
        if atStreamStart {
            atStreamStart = false
            if lineBytes.count >= 3, lineBytes[0] == 0xEF, lineBytes[1] == 0xBB, lineBytes[2] == 0xBF {
                lineBytes = UnsafeRawBufferPointer(rebasing: lineBytes[3...])
            }
        }
        if lineBytes.isEmpty {
            dispatch(&held, onEvent)
            return
        }
        if lineBytes[0] == UInt8(ascii: ":") { return }
        let colon = lineBytes.firstIndex(of: UInt8(ascii: ":")) ?? lineBytes.count
        let field = UnsafeRawBufferPointer(rebasing: lineBytes[0 ..< colon])
        var valueStart = min(colon + 1, lineBytes.count)
        if valueStart < lineBytes.count, lineBytes[valueStart] == 0x20 { valueStart += 1 }
        let value = UnsafeRawBufferPointer(rebasing: lineBytes[valueStart...])
        if Self.fieldIs(field, "data") {
            if inPlace && !hasData {
                held = value
            } else {
                keep(&held)
                data.append(contentsOf: value)
                data.append(0x0A)
            }
            hasData = true
        } else if Self.fieldIs(field, "event") {
            eventName = String(decoding: value, as: UTF8.self)
        } else if Self.fieldIs(field, "id") {
            if !value.contains(0) { lastEventId = String(decoding: value, as: UTF8.self) }
        } else if Self.fieldIs(field, "retry") {
            if !value.isEmpty, value.count <= 18, value.allSatisfy({ $0 &- UInt8(ascii: "0") < 10 }) {
                retry = value.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
            }
        }
    }

    private mutating func dispatch(_ held: inout UnsafeRawBufferPointer?, _ onEvent: (SSEEventView) -> Void) {
        defer {
            held = nil
            data.removeAll()
            hasData = false
            eventName = nil
        }
        guard hasData else { return }
        if let value = held {
            onEvent(SSEEventView(event: eventName, data: value, lastEventId: lastEventId))
            return
        }
        data.removeLast()  // the LF after the last data line
        data.withUnsafeBytes { onEvent(SSEEventView(event: eventName, data: $0, lastEventId: lastEventId)) }
    }

    private static func fieldIs(_ field: UnsafeRawBufferPointer, _ name: StaticString) -> Bool {
        guard field.count == name.utf8CodeUnitCount else { return false }
        for k in 0 ..< field.count where field[k] != name.utf8Start[k] { return false }
        return true
    }
}
