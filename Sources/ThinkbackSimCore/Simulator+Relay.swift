// Endpoints that only a relaying proxy meets: what a client sends beside chat, and an echo
// that shows a passthrough test what arrived (issue 19: every path under /v1/ and
// /anthropic/v1/ passes through byte for byte).

extension Simulator {
    /// `ANY /v1/echo/…`, `/anthropic/v1/echo/…`: the method, path, query, headers and the
    /// body's length and FNV-1a 64 digest, as JSON. `?pieces=N&interval_ms=M`: the answer
    /// comes as N pieces M ms apart (`application/octet-stream`), to show it is relayed as it
    /// comes. `?status=S`: that status.
    func echo(_ request: SimRequest) -> SimResponse {
        let headers: [SimJSON] = request.headers.map { [.string($0.name), .string($0.value)] }
        let answer: SimJSON = [
            "method": .string(request.method),
            "path": .string(request.path),
            "query": request.query.map { .string($0) } ?? .null,
            "headers": .array(headers),
            "body_bytes": .number(String(request.body.count)),
            "body_fnv1a64": .string(Self.fnv1a64(request.body)),
        ]
        let status = request.queryItem("status").flatMap(Int.init) ?? 200
        let pieces = max(1, min(request.queryItem("pieces").flatMap(Int.init) ?? 1, 1000))
        let interval = Double(request.queryItem("interval_ms").flatMap(Int.init) ?? 0)
        guard pieces > 1 else { return Self.json(status, answer) }
        let body = answer.bytes
        let size = (body.count + pieces - 1) / pieces
        let events = stride(from: 0, to: body.count, by: size).map { Array(body[$0 ..< min($0 + size, body.count)]) }
        return .stream(status: status, headers: [("Content-Type", "application/octet-stream")], events: events,
                       plan: SimStreamPlan(eventIntervalMs: interval))
    }

    /// `POST /v1/embeddings`: a canned vector.
    func embeddings(_ request: SimRequest) -> SimResponse {
        guard Self.tenant(of: request, api: .openAI) != nil else {
            return Self.full(401, ProviderErrors.unauthorized(anthropicShape: false))
        }
        return Self.json(200, [
            "object": "list",
            "data": [["object": "embedding", "index": 0, "embedding": [.number("0.125"), .number("-0.5"), .number("1")]]],
            "model": "sim-embedding",
            "usage": ["prompt_tokens": .number(String(max(1, request.body.count / 4))), "total_tokens": .number(String(max(1, request.body.count / 4)))],
        ])
    }

    /// `POST …/v1/messages/count_tokens`: a token count (a quarter of the body's bytes).
    func countTokens(_ request: SimRequest) -> SimResponse {
        guard Self.tenant(of: request, api: .anthropic) != nil else {
            return Self.full(401, ProviderErrors.unauthorized(anthropicShape: true))
        }
        return Self.json(200, ["input_tokens": .number(String(max(1, request.body.count / 4)))])
    }

    /// 16 hex digits.
    static func fnv1a64(_ bytes: [UInt8]) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes {
            h ^= UInt64(b)
            h = h &* 0x0000_0100_0000_01b3
        }
        let hex = String(h, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
