import ThinkbackCore

/// Which wire format a chat route speaks.
enum ChatAPI {
    case openAI
    case anthropic

    var anthropicShape: Bool { self == .anthropic }
}

extension Simulator {
    /// One chat request, in this order: knobs, auth, injected status fault, fast mode, JSON,
    /// shape, ledger classification, the provider's rules, the scripted answer.
    func chat(_ request: SimRequest, api: ChatAPI) -> SimResponse {
        stats.chatRequests += 1
        ring.append(request.body)

        var knobs: SimKnobs
        do {
            knobs = try SimKnobs.parse(request, config: config)
        } catch {
            stats.count("knob_error")
            return Self.full(
                400,
                api.anthropicShape
                    ? ProviderErrors.anthropic(type: "sim_knob_error", message: error.message)
                    : ProviderErrors.openAI(message: error.message, type: "sim_knob_error"))
        }
        guard let tenant = Self.tenant(of: request, api: api) else {
            stats.count("unauthorized")
            return Self.deliver(
                401, headers: Self.jsonHeaders, body: Array(ProviderErrors.unauthorized(anthropicShape: api.anthropicShape).utf8),
                knobs: knobs.withoutFaults)
        }
        if knobs.hasFault, !faultApplies(knobs) { knobs = knobs.withoutFaults }
        if knobs.hangUp {
            stats.count("fault_hang_up")
            return .hangUp
        }
        if let status = knobs.status {
            stats.count("fault_status")
            var headers = Self.jsonHeaders
            if let retry = knobs.retryAfter { headers.append(("Retry-After", retry)) }
            return Self.deliver(
                status, headers: headers,
                body: Array(ProviderErrors.fault(status: status, anthropicShape: api.anthropicShape).utf8), knobs: knobs)
        }
        if knobs.fast { return fast(request, api: api, knobs: knobs) }

        let json: SimJSON
        do {
            json = try SimJSON.parse(request.body)
        } catch {
            stats.count(RefusalKind.malformedJSON.rawValue)
            return Self.deliver(
                400, headers: Self.jsonHeaders,
                body: Array(ProviderErrors.malformed(error, anthropicShape: api.anthropicShape).utf8),
                knobs: knobs.withoutFaults)
        }
        switch api {
        case .openAI: return openAIChat(json, tenant: tenant, knobs: knobs)
        case .anthropic: return anthropicChat(json, tenant: tenant, knobs: knobs)
        }
    }

    /// The tenant: the key of `Authorization: Bearer K`, `api-key: K` or (Anthropic routes)
    /// `x-api-key: K`.
    static func tenant(of request: SimRequest, api: ChatAPI) -> String? {
        if let auth = request.header("authorization") {
            let parts = auth.trimmingSpaces.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" {
                let key = String(parts[1]).trimmingSpaces
                if !key.isEmpty { return key }
            }
        }
        if let key = request.header("api-key")?.trimmingSpaces, !key.isEmpty { return key }
        if api == .anthropic, let key = request.header("x-api-key")?.trimmingSpaces, !key.isEmpty { return key }
        return nil
    }

    /// Counts an attempt of the request's fault id; true while the fault still applies.
    func faultApplies(_ knobs: SimKnobs) -> Bool {
        guard let times = knobs.failTimes else { return true }
        let id = knobs.faultID ?? ""
        let seen = faultAttempts[id, default: 0]
        faultAttempts[id] = seen + 1
        return seen < times
    }

    func refuse(_ refusal: Refusal, stream: Bool, knobs: SimKnobs) -> SimResponse {
        stats.count(refusal.kind.rawValue)
        return Self.error400(refusal.body, stream: stream, knobs: knobs)
    }

    /// A 400, framed as SSE on a `stream: true` request when `x-sim-sse-errors` asks for it.
    static func error400(_ body: String, stream: Bool, knobs: SimKnobs) -> SimResponse {
        if stream, knobs.sseErrors {
            return deliver(400, headers: sseHeaders, body: Array("data: \(body)\n\n".utf8), knobs: knobs.withoutFaults)
        }
        return deliver(400, headers: jsonHeaders, body: Array(body.utf8), knobs: knobs.withoutFaults)
    }

    /// `x-sim-refuse-unissued`: the refusal of a history whose tool-call message carries reasoning
    /// this simulator did not issue (the ledger's `wrong` or `foreign`): the flavor's "must be
    /// passed back" wording for chat, Anthropic's signature refusal for messages.
    func unissued(tenant: String, knobs: SimKnobs, anthropic: Bool) -> Refusal? {
        guard knobs.refuseUnissued,
              let bad = ledger.lastVerdicts[tenant]?.first(where: { $0.toolCalls && ($0.category == .wrong || $0.category == .foreign) })
        else { return nil }
        if anthropic {
            return Refusal(kind: .unissued, body: ProviderErrors.anthropic(
                type: "invalid_request_error", message: "messages.\(bad.index).content.0: Invalid signature in thinking block"))
        }
        return Refusal(kind: .unissued, body: ProviderErrors.reasoningRefusal(flavor: knobs.flavor, index: bad.index, alternate: false))
    }

    func openAIChat(_ json: SimJSON, tenant: String, knobs: SimKnobs) -> SimResponse {
        let request: ChatRequest
        do {
            request = try ChatRequest.decode(json)
        } catch {
            stats.count(RefusalKind.invalidRequest.rawValue)
            let body = ProviderErrors.openAI(
                message: error.message, type: "invalid_request_error", param: .stringOrNull(error.param))
            return Self.error400(body, stream: json["stream"]?.boolValue ?? false, knobs: knobs)
        }
        let thinking = ThinkingDefaults.isOn(model: request.model, thinking: request.thinking)
        let places = ConversationDigest.prefixes(request.messages)
        ledger.classify(
            tenant: tenant,
            turns: request.messages.filter { $0.role == "assistant" }.map {
                HistoryTurn(
                    index: $0.index, place: places[$0.index], reasoning: $0.reasoning, calls: $0.toolCalls,
                    text: $0.contentText)
            })
        if let refusal = OpenAIValidator.validate(request, thinking: thinking, knobs: knobs) ?? unissued(tenant: tenant, knobs: knobs, anthropic: false) {
            return refuse(refusal, stream: request.stream, knobs: knobs)
        }

        let (fingerprint, promptBytes) = Self.fingerprint(model: request.model, json: json, members: ["messages", "tools"])
        let input = ScriptInput(
            model: request.model, thinking: thinking, tools: request.tools, toolsForbidden: request.toolsForbidden,
            lastIsUserQuestion: request.lastIsUserQuestion,
            trailingToolResults: request.messages.reversed().prefix(while: { $0.role == "tool" }).count,
            fingerprint: fingerprint, promptBytes: promptBytes)
        let turn = answer(
            input, tenant: tenant, place: places[places.count - 1], knobs: knobs,
            style: knobs.toolIDs == .kimi ? .kimi : .openAI)
        let created = config.now()
        stats.countStreamFaults(knobs)
        if request.stream {
            return .stream(
                status: 200, headers: Self.sseHeaders,
                events: OpenAIRenderer.streamEvents(
                    turn, model: request.model, created: created, fragmentSize: knobs.fragmentSize, astral: knobs.astral),
                plan: knobs.plan)
        }
        return Self.deliver(
            200, headers: Self.jsonHeaders,
            body: OpenAIRenderer.completion(turn, model: request.model, created: created, astral: knobs.astral),
            knobs: knobs)
    }

    func anthropicChat(_ json: SimJSON, tenant: String, knobs: SimKnobs) -> SimResponse {
        let request: AnthropicRequest
        do {
            request = try AnthropicRequest.decode(json)
        } catch {
            stats.count(RefusalKind.invalidRequest.rawValue)
            return Self.error400(
                ProviderErrors.anthropic(type: "invalid_request_error", message: error.message),
                stream: json["stream"]?.boolValue ?? false, knobs: knobs)
        }
        let thinking = ThinkingDefaults.isOn(model: request.model, thinking: request.thinking)
        let places = ConversationDigest.prefixes(system: request.system, messages: request.messages)
        ledger.classify(
            tenant: tenant,
            turns: request.messages.filter { $0.role == "assistant" }.map {
                HistoryTurn(index: $0.index, place: places[$0.index], reasoning: $0.reasoning, calls: $0.toolUses, text: $0.text)
            })
        if let refusal = AnthropicValidator.validate(request, thinking: thinking, knobs: knobs) ?? unissued(tenant: tenant, knobs: knobs, anthropic: true) {
            return refuse(refusal, stream: request.stream, knobs: knobs)
        }

        let (fingerprint, promptBytes) = Self.fingerprint(
            model: request.model, json: json, members: ["system", "messages", "tools"])
        let trailing = request.messages.last.map { m in
            m.role == "user" ? m.blocks.filter { if case .toolResult = $0 { true } else { false } }.count : 0
        }
        let input = ScriptInput(
            model: request.model, thinking: thinking, tools: request.tools, toolsForbidden: request.toolsForbidden,
            lastIsUserQuestion: request.lastIsUserQuestion, trailingToolResults: trailing ?? 0,
            fingerprint: fingerprint, promptBytes: promptBytes)
        let turn = answer(input, tenant: tenant, place: places[places.count - 1], knobs: knobs, style: .anthropic)
        stats.countStreamFaults(knobs)
        if request.stream {
            return .stream(
                status: 200, headers: Self.sseHeaders,
                events: AnthropicRenderer.streamEvents(
                    turn, model: request.model, flavor: knobs.flavor, layout: .init(knobs), fragmentSize: knobs.fragmentSize,
                    astral: knobs.astral),
                plan: knobs.plan)
        }
        return Self.deliver(
            200, headers: Self.jsonHeaders,
            body: AnthropicRenderer.message(
                turn, model: request.model, flavor: knobs.flavor, layout: .init(knobs), astral: knobs.astral),
            knobs: knobs)
    }

    /// A stable hash of what decides the answer (never `stream`), and its size in bytes.
    static func fingerprint(model: String, json: SimJSON, members: [String]) -> (UInt64, Int) {
        var hash = FNV1a64()
        var size = model.utf8.count
        hash.combine(model)
        for name in members {
            let bytes = json[name]?.canonicalBytes ?? []
            size += bytes.count
            hash.combine(bytes)
            hash.combine(CollectionOfOne(0xFF))
        }
        return (hash.value, size)
    }

    /// Runs the scripted model and remembers what it issued to `tenant` at `place` (the digest
    /// of the request's messages).
    /// A tool call as a model leaks it into its reasoning: the Qwen3-XML template (values on
    /// lines of their own, strings bare, others as JSON) or the JSON one.
    static func leaked(_ call: ScriptedToolCall, form: String) -> String {
        if form == "json" {
            return "<tool_call>\n{\"name\": \"\(call.name)\", \"arguments\": \(call.arguments)}\n</tool_call>"
        }
        var out = "<tool_call>\n<function=\(call.name)>\n"
        for m in call.input.objectMembers ?? [] {
            let value = m.value.stringValue ?? String(decoding: m.value.canonicalBytes, as: UTF8.self)
            out += "<parameter=\(m.key)>\n\(value)\n</parameter>\n"
        }
        return out + "</function>\n</tool_call>"
    }

    func answer(
        _ input: ScriptInput, tenant: String, place: SHA256Digest, knobs: SimKnobs, style: ToolIDStyle
    ) -> ScriptedTurn {
        serial += 1
        var turn = ScriptedModel.respond(to: input, seed: config.seed, serial: serial, knobs: knobs, style: style)
        if style != .anthropic, let form = knobs.leakToolCalls, !turn.toolCalls.isEmpty, let reasoning = turn.reasoning,
           Int(serial % 100) < knobs.leakSharePercent {
            // MiMo's defect: the calls written into the reasoning, none in `tool_calls`.
            turn.reasoning = reasoning + "\n\n" + turn.toolCalls.map { Self.leaked($0, form: form) }.joined(separator: "\n")
            turn.toolCalls = []
            stats.count("leaked_tool_calls")
        }
        // An Anthropic answer is exact only with its blocks as issued: the ledger keeps their
        // layout (text, signature, position, order) as the reasoning to compare.
        let issued = style == .anthropic && turn.reasoning != nil
            ? AnthropicRenderer.layoutText(AnthropicRenderer.blocks(turn, flavor: knobs.flavor, layout: .init(knobs)))
            : turn.reasoning
        ledger.record(
            tenant: tenant, place: place, reasoning: issued,
            calls: turn.toolCalls.map {
                HistoryCall(id: $0.id, name: $0.name, canonicalArguments: String(decoding: $0.input.canonicalBytes, as: UTF8.self))
            },
            text: turn.content)
        stats.count("accepted")
        return turn
    }
}

extension SimStats {
    mutating func countStreamFaults(_ knobs: SimKnobs) {
        if knobs.dropAfterEvents != nil { faults["drop", default: 0] += 1 }
        if knobs.stallAfterEvents != nil { faults["stall", default: 0] += 1 }
    }
}
