extension Simulator {
    /// Fast mode: a canned answer without parsing, validation or ledger work. Only `model` and
    /// `stream` are picked out of the body, by a cheap scan.
    func fast(_ request: SimRequest, api: ChatAPI, knobs: SimKnobs) -> SimResponse {
        stats.count("fast")
        serial += 1
        let model = FastScan.model(in: request.body) ?? "mimo-v2.5-pro"
        let stream = FastScan.streamRequested(in: request.body)
        let hex = String(serial, radix: 16)
        let padded = String(repeating: "0", count: max(0, 32 - hex.count)) + hex
        // With `x-sim-tool-calls: N` the canned answer calls a tool N times, as an agent loop's
        // answers do (load tests of capture); each answer has its own ids and reasoning.
        let calls = (0 ..< (knobs.toolCallCount ?? 0)).map { i in
            ScriptedToolCall(id: "call_\(i)" + padded.suffix(22), name: "get_weather", input: ["city": "Beijing"],
                             arguments: #"{"city":"Beijing"}"#)
        }
        let turn = ScriptedTurn(
            responseID: padded,
            reasoning: calls.isEmpty ? "Canned reasoning: 思考 🤔 \"fast\" \\ mode."
                : "Canned reasoning \(serial): 思考 🤔 \"fast\" \\ mode; I will call get_weather.",
            content: calls.isEmpty ? "Canned answer." : "", toolCalls: calls,
            promptTokens: request.body.count / 4 + 8, reasoningTokens: 12, completionTokens: 16)
        stats.countStreamFaults(knobs)
        switch (api, stream) {
        case (.openAI, true):
            return .stream(
                status: 200, headers: Self.sseHeaders,
                events: OpenAIRenderer.streamEvents(
                    turn, model: model, created: config.now(), fragmentSize: max(knobs.fragmentSize, 64)),
                plan: knobs.plan)
        case (.openAI, false):
            return Self.deliver(
                200, headers: Self.jsonHeaders, body: OpenAIRenderer.completion(turn, model: model, created: config.now()),
                knobs: knobs)
        case (.anthropic, true):
            return .stream(
                status: 200, headers: Self.sseHeaders,
                events: AnthropicRenderer.streamEvents(
                    turn, model: model, flavor: knobs.flavor, layout: .init(knobs), fragmentSize: max(knobs.fragmentSize, 64)),
                plan: knobs.plan)
        case (.anthropic, false):
            return Self.deliver(
                200, headers: Self.jsonHeaders,
                body: AnthropicRenderer.message(turn, model: model, flavor: knobs.flavor, layout: .init(knobs)),
                knobs: knobs)
        }
    }
}

/// Byte scans for fast mode: good enough for well-formed bodies, never a JSON parser.
enum FastScan {
    /// Whether the body has `"stream"` followed by `:` and `true`.
    static func streamRequested(in body: [UInt8]) -> Bool {
        guard var i = valueStart(of: "stream", in: body) else { return false }
        for b in "true".utf8 {
            guard i < body.count, body[i] == b else { return false }
            i += 1
        }
        return true
    }

    /// The string value of the first `"model"` member.
    static func model(in body: [UInt8]) -> String? {
        guard var i = valueStart(of: "model", in: body), i < body.count, body[i] == UInt8(ascii: "\"") else { return nil }
        i += 1
        let start = i
        while i < body.count, body[i] != UInt8(ascii: "\""), body[i] != UInt8(ascii: "\\") { i += 1 }
        guard i < body.count, body[i] == UInt8(ascii: "\"") else { return nil }
        return String(decoding: body[start..<i], as: UTF8.self)
    }

    private static func valueStart(of key: String, in body: [UInt8]) -> Int? {
        let needle = Array("\"\(key)\"".utf8)
        guard body.count >= needle.count else { return nil }
        var i = 0
        while i + needle.count <= body.count {
            if body[i] == needle[0], body[i..<(i + needle.count)].elementsEqual(needle) {
                var j = i + needle.count
                while j < body.count, body[j] == 0x20 || body[j] == 0x0A || body[j] == 0x0D || body[j] == 0x09 { j += 1 }
                if j < body.count, body[j] == UInt8(ascii: ":") {
                    j += 1
                    while j < body.count, body[j] == 0x20 || body[j] == 0x0A || body[j] == 0x0D || body[j] == 0x09 { j += 1 }
                    return j
                }
            }
            i += 1
        }
        return nil
    }
}
