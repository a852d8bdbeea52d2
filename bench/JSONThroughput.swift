// Release-mode throughput of the request path: scan a ~1 MiB chat history (50 assistant
// messages with tool calls, their tool results, user turns, mixed ASCII/CJK/escapes), then
// splice a reasoning string into every assistant message that lacks one.
// Built and run by bench/json-throughput; not a test (no assertions on time).

import ThinkbackCoreBench

// CLibEvent/cle_sha256.c, linked in by bench/json-throughput (a C function of pointers and an
// integer: the Swift and C conventions agree on x86-64 and arm64).
@_silgen_name("cle_sha256_blocks")
func cle_sha256_blocks(_ h: UnsafeMutablePointer<UInt32>?, _ data: UnsafeRawPointer?, _ blocks: Int)

@main
enum JSONThroughput {
    static func main() {
        SHA256.blockFunction = { cle_sha256_blocks($0, $1, $2) }
        let code = String(repeating: "func example() {\\n    let x = \\\"value\\\" // 注释 comment\\n}\\n", count: 8)
        let chinese = String(repeating: "这是一个工具的结果，包含很多中文字符和标点符号。", count: 8)
        run("code-like tool results", makeHistory(targetBytes: 1 << 20, toolTurns: 50, fileBody: code))
        run("CJK tool results", makeHistory(targetBytes: 1 << 20, toolTurns: 50, fileBody: chinese))
        restorePath("restore path, code-like", makeHistory(targetBytes: 1 << 20, toolTurns: 50, fileBody: code, reasoningEvery: 0))
        restorePath("restore path, CJK", makeHistory(targetBytes: 1 << 20, toolTurns: 50, fileBody: chinese, reasoningEvery: 0))
    }

    /// The whole request path of a restore, as the proxy runs it: scan, keys (tenant-scoped
    /// SHA-256 of ids, content keys with canonical arguments), store lookups, decisions, splice
    /// into one allocation. Every tool-call message misses its reasoning and is found.
    static func restorePath(_ label: String, _ body: [UInt8]) {
        let tenant = TenantHasher(secret: Array(repeating: 1, count: 32)).tenant(forCredential: Array("sk-bench".utf8))
        let builder = KeyBuilder(tenant: tenant)
        let store = MemoryStore()
        let policy = RestorePolicy(scope: .toolCalls, strategy: .auto, placeholder: [32], thinking: true)
        let scan = try! ChatRequestScan(body)
        let now = SystemStoreClock().nowMilliseconds()
        let reasoning = Array(("I should call the tool.\n\"quoted\" 北京 😀 " + String(repeating: "reasoning text ", count: 130)).utf8)
        body.withUnsafeBytes { raw in
            // Each message captured as the answer to the history before it (its place).
            for p in ChatRestore.plan(scan, body: raw, scope: .toolCalls, builder: builder).pending {
                let m = scan.messages[p.turn.messageIndex]
                let calls = m.toolCalls.map { CapturedToolCall(id: $0.id ?? "", name: $0.name ?? "", arguments: $0.argumentsText(in: raw) ?? []) }
                let choice = CapturedChoice(index: 0, reasoning: reasoning, content: m.normalizedContent(in: raw), toolCalls: calls, finishReason: "tool_calls")
                let (value, keys) = ChatRestore.record(choice, history: p.turn.history, builder: builder, nowMs: now)
                store.insert(value, for: keys)
            }
        }
        let iterations = 300
        var restored = 0
        var sink = 0
        let d = ContinuousClock().measure {
            for _ in 0 ..< iterations {
                body.withUnsafeBytes { raw in
                    let scan = try! ChatRequestScan(raw)
                    let pending = ChatRestore.plan(scan, body: raw, scope: policy.scope, builder: builder).pending
                    let found = pending.map { $0.keys.map { store.lookupNow($0) } }
                    let outcome = ChatRestore.outcome(scan, body: raw, pending: pending, found: found, policy: policy)
                    let out = try! JSONSplicer.applyAllocating(outcome.edits, to: raw)
                    sink &+= out.count
                    restored = outcome.actions.count
                    out.deallocate()
                }
            }
        }
        let seconds = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
        let mbps = Double(body.count) * Double(iterations) / seconds / 1e6
        print("\(label): \(body.count) bytes, \(restored) messages restored per request")
        print("scan+keys+lookup+splice: \(Int(mbps)) MB/s (\(Int(seconds / Double(iterations) * 1e6)) µs per request)")
        if sink == 42 { print("") }
    }

    static func run(_ label: String, _ body: [UInt8]) {
        let reasoning = JSONStringEncoder.encode("I should call the tool.\n\"quoted\" 北京 😀 " + String(repeating: "reasoning text ", count: 100))
        let iterations = 300

        // Warm up and check the document once.
        let check = try! ChatRequestScan(body)
        let assistants = check.messages.filter { $0.role == "assistant" }.count
        let withCalls = check.messages.filter { !$0.toolCalls.isEmpty }.count

        var sink = 0
        let clock = ContinuousClock()
        let scanOnly = clock.measure {
            for _ in 0 ..< iterations {
                let scan = try! ChatRequestScan(body)
                sink &+= scan.messages.count
            }
        }
        let scanAndSplice = clock.measure {
            for _ in 0 ..< iterations {
                let scan = try! ChatRequestScan(body)
                var edits: [JSONEdit] = []
                for m in scan.messages where m.role == "assistant" && m.reasoningState != .nonEmpty {
                    edits.append(m.reasoningEdit(encodedValue: reasoning))
                }
                let out = try! JSONSplicer.apply(edits, to: body)
                sink &+= out.count
            }
        }
        let validateOnly = clock.measure {
            for _ in 0 ..< iterations {
                sink &+= (try! JSONValidator.validate(body)).range.count
            }
        }

        func rate(_ d: Duration) -> String {
            let seconds = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
            let mbps = Double(body.count) * Double(iterations) / seconds / 1e6
            let perDoc = seconds / Double(iterations) * 1e6
            return "\(Int(mbps)) MB/s (\(Int(perDoc)) µs per request)"
        }
        print("\(label): \(body.count) bytes, \(check.messages.count) messages, \(assistants) assistant, \(withCalls) with tool calls")
        print("validate only:        \(rate(validateOnly))")
        print("ChatRequestScan:      \(rate(scanOnly))")
        print("scan + splice:        \(rate(scanAndSplice))")
        if sink == 42 { print("") }
    }

    /// A generated agent history of about `targetBytes`.
    static func makeHistory(targetBytes: Int, toolTurns: Int, fileBody: String, reasoningEvery: Int = 2) -> [UInt8] {
        var messages: [String] = [#"{"role": "system", "content": "You are a coding agent. Follow the rules:\n1. Be precise.\n2. Use tools."}"#]
        let perTurn = targetBytes / toolTurns
        for t in 0 ..< toolTurns {
            messages.append(#"{"role": "user", "content": [{"type": "text", "text": "Please look at file \#(t) and fix the bug — 请修复。"}]}"#)
            let args = #"{\"path\": \"Sources/File\#(t).swift\", \"limit\": 400}"#
            let reasoning = reasoningEvery > 0 && t % reasoningEvery == 0 ? #", "reasoning_content": "Earlier thought \#(t): check the file first.""# : ""
            messages.append(#"{"role": "assistant", "content": "", "tool_calls": [{"id": "call_\#(t)_abcdef0123456789", "type": "function", "function": {"name": "read_file", "arguments": "\#(args)"}}]\#(reasoning)}"#)
            var result = ""
            while result.utf8.count < perTurn - 600 { result += fileBody }
            messages.append(#"{"role": "tool", "tool_call_id": "call_\#(t)_abcdef0123456789", "content": "\#(result)"}"#)
            messages.append(#"{"role": "assistant", "content": "I read file \#(t). The bug is on line 3: 北京 😀."}"#)
        }
        let body = #"{"model": "mimo-v2.5-pro", "stream": true, "thinking": {"type": "enabled"}, "temperature": 1.0, "#
            + #""tools": [{"type": "function", "function": {"name": "read_file", "parameters": {"type": "object", "properties": {"path": {"type": "string"}}}}}], "#
            + #""messages": [\#n  "# + messages.joined(separator: ",\n  ") + "\n]}"
        return Array(body.utf8)
    }
}
