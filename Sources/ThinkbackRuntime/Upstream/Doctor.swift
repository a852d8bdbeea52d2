import ThinkbackCore

/// `thinkback doctor` (issue 21): checks one upstream with the user's key, the way thinkback
/// will use it, and says what to set.
///
/// 1. A first turn with one tool offered: does the model call it, with reasoning?
/// 2. The next turn without the reasoning (what a client that drops it sends): refused? With
///    which wording — one `auto` recognises?
/// 3. The same with the reasoning restored (thinkback's cure): accepted?
/// 4. With the upstream's placeholder, and with `""`: accepted (what `placeholder` and `auto`
///    send on a miss)?
/// 5. With a plain assistant message (no tool calls) left without reasoning: refused (then the
///    upstream wants `restore = all`)?
public struct Doctor {
    let upstream: UpstreamConfig
    let config: Config
    let key: String
    let model: String
    let say: (String) -> Void

    public init(upstream: UpstreamConfig, config: Config, key: String, model: String, say: @escaping (String) -> Void) {
        self.upstream = upstream
        self.config = config
        self.key = key
        self.model = model
        self.say = say
    }

    /// Runs the checks; false when the upstream could not be asked (unreachable, no tool call).
    public func run() -> Bool {
        let url = upstream.preset.baseURL + "/chat/completions"
        say("thinkback doctor: \(upstream.preset.name) at \(url), model \(model)")
        let tool = #"{"type":"function","function":{"name":"get_weather","description":"The weather in a city","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}"#
        let question = #"{"role":"user","content":"What is the weather in Paris? Use the get_weather tool."}"#
        func body(_ messages: [String]) -> [UInt8] {
            Array(#"{"model":"#.utf8) + JSONStringEncoder.encode(model) + Array(#","tools":[\#(tool)],"messages":["#.utf8)
                + Array(messages.joined(separator: ",").utf8) + Array("]}".utf8)
        }
        let first = post(url, body([question]))
        guard first.status == 200, let answer = try? ChatResponseScan(first.body), let choice = answer.choices.first,
              !choice.toolCalls.isEmpty else {
            let why = first.status == 0 ? "no answer (\(first.error))"
                : first.status == 200 ? "the model called no tool: try another --model" : "HTTP \(first.status): \(Self.excerpt(first.body))"
            say("  first turn: " + why)
            return false
        }
        let reasoning = choice.reasoning.map { String(decoding: $0, as: UTF8.self) }
        say("  first turn: 200, \(choice.toolCalls.count) tool call(s), reasoning \(reasoning.map { "of \($0.count) characters" } ?? "absent (thinking off for this model?)")")
        let calls = choice.toolCalls.map {
            String(decoding: ToolCallRescue.callObject(id: $0.id, name: $0.name, arguments: $0.arguments), as: UTF8.self)
        }.joined(separator: ",")
        let results = choice.toolCalls.map { #"{"role":"tool","tool_call_id":"# + enc($0.id) + #","content":"18 C, sunny"}"# }
        func turn(reasoning value: String?, plainBefore: Bool = false) -> (status: Int, body: [UInt8], error: String) {
            var assistant = #"{"role":"assistant","content":"# + enc(String(decoding: choice.content, as: UTF8.self)) + #","tool_calls":["# + calls + "]"
            if let value { assistant += #","reasoning_content":"# + enc(value) }
            assistant += "}"
            var messages: [String] = []
            if plainBefore {
                messages += [#"{"role":"user","content":"Hello"}"#, #"{"role":"assistant","content":"Hello! How can I help?"}"#]
            }
            return post(url, body(messages + [question, assistant] + results))
        }

        let bare = turn(reasoning: nil)
        let refused = bare.body.withUnsafeBytes { RefusalRecognizer.isRefusal(status: bare.status, body: $0, wordings: upstream.refusalWordings) }
        if bare.status == 200 {
            say("  without the reasoning: accepted — not enforced right now (enforcement drifts: keep thinkback in front)")
        } else if refused {
            say("  without the reasoning: refused (HTTP 400, a wording auto recognises): \(Self.excerpt(bare.body))")
        } else {
            say("  without the reasoning: HTTP \(bare.status), not a wording auto knows: \(Self.excerpt(bare.body))")
            say("    → add it: --upstream-set \(upstream.name).refusal='<the provider's words>'")
        }
        var cureWorks = true
        if let reasoning {
            let cured = turn(reasoning: reasoning)
            cureWorks = cured.status == 200
            say("  with the reasoning restored: \(cured.status == 200 ? "accepted — restoration cures it" : "HTTP \(cured.status): \(Self.excerpt(cured.body))")")
        }
        let placeholder = config.placeholder(for: upstream)
        var accepted: [String: Bool] = [:]
        for candidate in [placeholder, " ", ""] where accepted[candidate] == nil {
            let r = turn(reasoning: candidate)
            accepted[candidate] = r.status == 200
            say("  placeholder \(Self.quoted(candidate))\(candidate == placeholder ? " (the configured one)" : ""): \(r.status == 200 ? "accepted" : "refused (HTTP \(r.status))")")
        }
        var allNeeded = false
        if let reasoning {
            let plain = turn(reasoning: reasoning, plainBefore: true)
            allNeeded = plain.status == 400
            say("  a plain assistant message without reasoning: \(plain.status == 200 ? "accepted" : "refused (HTTP \(plain.status)): every assistant message needs its reasoning")")
        }

        say("recommended:")
        var any = false
        func recommend(_ line: String) { say("  " + line); any = true }
        if allNeeded && config.restoreScope(for: upstream) != .all { recommend("--upstream-set \(upstream.name).restore=all") }
        if accepted[placeholder] != true {
            if let better = [" ", ""].first(where: { accepted[$0] == true }) {
                recommend("--upstream-set \(upstream.name).placeholder='\(better)' (\(Self.quoted(placeholder)) is refused, \(Self.quoted(better)) is not)")
            } else {
                recommend("--miss auto (placeholders are refused here: auto falls back to textualize and remembers)")
            }
        }
        if !cureWorks { recommend("restoration alone does not cure it here: --miss textualize") }
        if !any { say("  nothing to change: thinkback's settings for \(upstream.name) fit this upstream") }
        return true
    }

    private func enc(_ s: String) -> String { String(decoding: JSONStringEncoder.encode(s), as: UTF8.self) }

    static func excerpt(_ body: [UInt8]) -> String {
        let text = String(decoding: body.prefix(300).map { $0 == 0x0A || $0 == 0x0D ? 0x20 : $0 }, as: UTF8.self)
        return text.isEmpty ? "(empty body)" : text
    }

    static func quoted(_ s: String) -> String { "\"" + s + "\"" }

    /// One POST through the loop's curl (what the proxy itself uses), waited for.
    func post(_ url: String, _ body: [UInt8]) -> (status: Int, body: [UInt8], error: String) {
        guard let loop = try? EventLoop() else { return (0, [], "cannot start a loop") }
        let exchange = DoctorExchange()
        let transfer = UpstreamTransfer(delegate: exchange)
        exchange.loop = loop
        let credential = "Authorization: Bearer \(key)"
        let options = UpstreamTransfer.Options(
            url: url, headerLines: ["Expect:", "Content-Type: application/json", credential], forwardedFrom: nil, isPost: true,
            connectTimeoutMs: config.connectTimeoutMs, lowSpeedSeconds: 120, http2: config.http2)
        // curl reads the body in place while the loop runs: it lives until then.
        return body.withUnsafeBytes { raw in
            if let failure = transfer.start(loop: loop, options: options, body: .bytes(raw)) {
                return (0, [], "\(failure)")
            }
            loop.run()
            return (exchange.status, exchange.body, exchange.error)
        }
    }
}

/// Collects one doctor request's answer.
final class DoctorExchange: UpstreamTransferDelegate {
    var loop: EventLoop?
    var status = 0
    var body: [UInt8] = []
    var error = ""

    func transferHeaderLine(_ line: UnsafeRawBufferPointer) {
        let text = String(decoding: line, as: UTF8.self)
        if text.hasPrefix("HTTP/") {
            let parts = text.split(separator: " ")
            if parts.count > 1, let s = Int(parts[1]) { status = s }
        }
    }

    func transferData(_ bytes: UnsafeRawBufferPointer) -> Bool {
        body.append(contentsOf: bytes)
        return body.count < 16 << 20
    }

    func transferDone(_ outcome: TransferOutcome) {
        if case .completed = outcome {} else { error = "\(outcome)" }
        loop?.stop()
    }
}
