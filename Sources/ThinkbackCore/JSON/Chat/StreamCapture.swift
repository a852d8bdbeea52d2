/// Assembles a streamed chat completion, chunk by chunk, into the final message of each
/// choice, and hands it out only if the stream completed normally (product.md §1): every
/// choice seen got a `finish_reason`, `data: [DONE]` arrived, and no chunk was malformed.
///
/// Feed it the data of each SSE event in order (`SSEEventView.data`). Fragments are kept as
/// spelt (still escaped) in per-choice buffers and decoded once, whole, at the end: a
/// surrogate pair escaped across two events (`"\ud83d"` then `"\ude00"`) is one character,
/// and the reasoning is stored as the provider spelt it. The chunks themselves are not kept.
///
/// Tool calls are joined by their `index`; the first non-empty `id` and `name` win, and
/// argument pieces are appended in order. A fragment without `index` continues the latest
/// call unless it brings a new `id`, which starts a new call.
public struct StreamCapture: Sendable {
    /// Whether `[DONE]` arrived. Events after it are ignored.
    public private(set) var sawDone = false
    /// Whether a chunk was not valid JSON; such a stream is never recorded.
    public private(set) var isMalformed = false
    /// Number of chunks fed (excluding `[DONE]`).
    public private(set) var chunkCount = 0
    /// Bytes of fragments kept so far (reasoning, content and arguments, as spelt): what the
    /// capture holds in memory.
    public private(set) var byteCount = 0
    private var choices: [Choice] = []

    private struct Choice: Sendable {
        var index: Int
        /// Escaped, as spelt.
        var reasoning: [UInt8] = []
        var sawReasoning = false
        /// Escaped, as spelt.
        var content: [UInt8] = []
        var calls: [Call] = []
        var finishReason: String?
    }

    private struct Call: Sendable {
        var index: Int
        var id = ""
        var name = ""
        /// Escaped, as spelt.
        var arguments: [UInt8] = []
    }

    /// An empty capture.
    public init() {}

    /// Feeds one SSE event's data (a chunk's JSON, or `[DONE]`).
    public mutating func feed(_ data: UnsafeRawBufferPointer) {
        if sawDone { return }
        if SSEEventView.isDoneMarker(data) {
            sawDone = true
            return
        }
        chunkCount += 1
        guard let chunk = try? ChatChunkScan(data) else {
            isMalformed = true
            return
        }
        for delta in chunk.choices { apply(delta, from: data) }
    }

    /// Feeds one SSE event's data.
    public mutating func feed(_ data: [UInt8]) {
        data.withUnsafeBytes { feed($0) }
    }

    /// Whether the stream completed normally so far: `[DONE]` seen, at least one choice, each
    /// with a finish reason, and no malformed chunk.
    public var isComplete: Bool {
        sawDone && !isMalformed && !choices.isEmpty && choices.allSatisfy { $0.finishReason != nil }
    }

    /// The final choices in index order if the stream completed normally, else `nil`.
    /// `reasoning` is `nil` for a choice that never sent a reasoning fragment; `content` is
    /// normalised like `ChatContentText` (trimmed).
    public func result() -> [CapturedChoice]? {
        guard isComplete else { return nil }
        return choices.sorted { $0.index < $1.index }.map { c in
            CapturedChoice(index: c.index,
                           reasoningLiteral: c.sawReasoning ? c.reasoning : nil,
                           content: ChatContentText.trimmed(Self.decoded(c.content)),
                           toolCalls: c.calls.sorted { $0.index < $1.index }.map {
                               CapturedToolCall(id: $0.id, name: $0.name, arguments: Self.decoded($0.arguments))
                           },
                           finishReason: c.finishReason)
        }
    }

    /// Joined escaped fragments, decoded.
    private static func decoded(_ escaped: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(escaped.count)
        escaped.withUnsafeBytes { JSONStringDecoding.appendUnescaped($0, to: &out) }
        return out
    }

    private mutating func apply(_ delta: ChatChunkChoice, from data: UnsafeRawBufferPointer) {
        let k: Int
        if let found = choices.firstIndex(where: { $0.index == delta.index }) {
            k = found
        } else {
            choices.append(Choice(index: delta.index))
            k = choices.count - 1
        }
        if let reasoning = delta.reasoning {
            choices[k].sawReasoning = true
            choices[k].reasoning += UnsafeRawBufferPointer(rebasing: data[reasoning.content])
            byteCount += reasoning.content.count
        }
        if let content = delta.content {
            choices[k].content += UnsafeRawBufferPointer(rebasing: data[content.content])
            byteCount += content.content.count
        }
        for fragment in delta.toolCalls {
            byteCount += fragment.arguments?.content.count ?? 0
            Self.apply(fragment, to: &choices[k].calls, from: data)
        }
        if let reason = delta.finishReason { choices[k].finishReason = reason }
    }

    private static func apply(_ f: ChatToolCallFragment, to calls: inout [Call], from data: UnsafeRawBufferPointer) {
        let k: Int
        if let index = f.index {
            if let found = calls.firstIndex(where: { $0.index == index }) {
                k = found
            } else {
                calls.append(Call(index: index))
                k = calls.count - 1
            }
        } else if let last = calls.indices.last, f.id == nil || f.id == "" || f.id == calls[last].id {
            k = last
        } else {
            calls.append(Call(index: (calls.map(\.index).max() ?? -1) + 1))
            k = calls.count - 1
        }
        if let id = f.id, !id.isEmpty, calls[k].id.isEmpty { calls[k].id = id }
        if let name = f.name, !name.isEmpty, calls[k].name.isEmpty { calls[k].name = name }
        if let arguments = f.arguments { calls[k].arguments += UnsafeRawBufferPointer(rebasing: data[arguments.content]) }
    }
}
