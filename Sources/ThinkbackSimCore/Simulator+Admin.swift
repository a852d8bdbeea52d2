extension Simulator {
    /// `GET /v1/models`: the MiMo models, OpenAI list shape.
    func models(_ request: SimRequest) -> SimResponse {
        guard Self.tenant(of: request, api: .openAI) != nil else {
            return Self.full(401, ProviderErrors.unauthorized(anthropicShape: false))
        }
        let data = ThinkingDefaults.mimoModels.map {
            ["id": .string($0), "object": "model", "created": 1_767_225_600, "owned_by": "xiaomi"] as SimJSON
        }
        return Self.json(200, ["object": "list", "data": .array(data)])
    }

    /// `GET /sim/stats`:
    /// ```
    /// {"requests":N,"chat_requests":N,"issued":N,
    ///  "verdicts":{"accepted":N,"fast":N,"unauthorized":N,"knob_error":N,"fault_status":N,
    ///              "refused_reasoning":N,…},
    ///  "faults":{"drop":N,"stall":N},
    ///  "ledger":{"exact":N,"placeholder":N,"foreign":N,"wrong":N,"missing":N,"textualized":N},
    ///  "plain":{…same categories, assistant messages without tool calls…},
    ///  "tenants":{"KEY":{"ledger":{…},"plain":{…},
    ///                    "last_request":[{"index":2,"category":"exact","tool_calls":true},…]}}}
    /// ```
    var statsJSON: SimJSON {
        let tenants = Set(ledger.toolCallByTenant.keys).union(ledger.plainByTenant.keys).union(ledger.lastVerdicts.keys)
        let perTenant: [SimJSONMember] = tenants.sorted().map { t in
            let last = (ledger.lastVerdicts[t] ?? []).map {
                ["index": .int($0.index), "category": .string($0.category.rawValue), "tool_calls": .bool($0.toolCalls)]
                    as SimJSON
            }
            return SimJSONMember(
                t,
                [
                    "ledger": (ledger.toolCallByTenant[t] ?? LedgerCounts()).json,
                    "plain": (ledger.plainByTenant[t] ?? LedgerCounts()).json,
                    "last_request": .array(last),
                ])
        }
        return [
            "requests": .int(stats.requests), "chat_requests": .int(stats.chatRequests),
            "issued": .int(ledger.issuedCount), "verdicts": stats.json,
            "faults": ["drop": .int(stats.faults["drop"] ?? 0), "stall": .int(stats.faults["stall"] ?? 0)],
            "ledger": ledger.toolCallTotals.json, "plain": ledger.plainTotals.json, "tenants": .object(perTenant),
        ]
    }

    /// `GET /sim/last?n=N`: the raw N-th last chat request body.
    func lastBody(_ request: SimRequest) -> SimResponse {
        let n: Int
        if let raw = request.queryItem("n") {
            guard let v = Int(raw), v >= 1 else {
                return Self.full(400, ProviderErrors.openAI(message: "sim: n must be a positive integer", type: "sim_error"))
            }
            n = v
        } else {
            n = 1
        }
        guard let body = ring.last(n) else {
            return Self.full(
                404, ProviderErrors.openAI(message: "sim: no chat request body number \(n) kept", type: "not_found_error"))
        }
        return .full(status: 200, headers: Self.jsonHeaders, body: body)
    }
}
