import ThinkbackCore
#if canImport(Glibc)
import Glibc
#endif

/// The invariants checked on every fuzz input. A violation traps, which libFuzzer reports.
enum FuzzChecks {
    static let injected = "r\"e\\a/s\u{0}o\n\r\tn\u{1F}\u{7F} 北京 😀 \u{2028} \\u0041"

    static func run(_ input: UnsafeRawBufferPointer) {
        let valid = checkValidator(input)
        checkCanonical(input, valid: valid)
        checkRequest(input, valid: valid)
        checkRestore(input)
        checkHygiene(input)
        checkRescue(input)
        checkAnthropicRestore(input)
        checkResponses(input, valid: valid)
        checkSSE(input)
        checkAnthropicStream(input)
        checkEncoder(input)
    }

    static func require(_ condition: Bool, _ message: @autoclosure () -> String) {
        if !condition { fatalError("fuzz invariant broken: \(message())") }
    }

    /// The scanner agrees with the simple reference validator; errors point inside the input.
    static func checkValidator(_ input: UnsafeRawBufferPointer) -> Bool {
        let reference = ReferenceValidator.isValid(input)
        do {
            let top = try JSONValidator.validate(input)
            require(top.range.upperBound <= input.count, "span out of bounds")
            require(reference, "scanner accepts what the reference validator rejects")
            return true
        } catch {
            require(!reference, "scanner rejects what the reference validator accepts: \(error)")
            require(error.offset >= 0 && error.offset <= input.count, "error offset \(error.offset) outside input")
            require(!error.reason.isEmpty, "empty reason")
            return false
        }
    }

    /// Every miss strategy leaves a valid chat request: restore, placeholder, strip and
    /// textualize edits never overlap and never break the JSON, whatever the request holds.
    static func checkRestore(_ input: UnsafeRawBufferPointer) {
        guard let scan = try? ChatRequestScan(input) else { return }
        let builder = KeyBuilder(tenant: .single)
        let stored = StoredReasoning(text: Array(injected.utf8), storedAtMilliseconds: 0)
        for strategy in [MissStrategy.placeholder, .strip, .textualize, .reject] {
            for scope in [UpstreamPreset.RestoreScope.toolCalls, .all] {
                let policy = RestorePolicy(scope: scope, strategy: strategy, placeholder: [32], thinking: true)
                let pending = ChatRestore.plan(scan, body: input, scope: scope, builder: builder).pending
                // Alternate hits and misses so restore edits meet fallback edits.
                let found = pending.enumerated().map { k, p in p.keys.map { _ in k % 2 == 0 ? stored : nil } }
                let outcome = ChatRestore.outcome(scan, body: input, pending: pending, found: found, policy: policy)
                let out: [UInt8]
                do { out = try JSONSplicer.apply(outcome.edits, to: input) } catch {
                    require(false, "restore edits do not apply (\(strategy), \(scope)): \(error.reason)")
                    return
                }
                let rescanned = try? ChatRequestScan(out)
                require(rescanned != nil, "restored request is not a valid chat request (\(strategy), \(scope))")
            }
        }
    }

    /// Request hygiene (issue 21) spliced with every strategy's edits (those it is compatible
    /// with) leaves a valid chat request.
    static func checkHygiene(_ input: UnsafeRawBufferPointer) {
        guard let scan = try? ChatRequestScan(input) else { return }
        let fixes = ChatHygiene.edits(scan, body: input, fixes: .all, thinking: true)
        let builder = KeyBuilder(tenant: .single)
        let stored = StoredReasoning(text: Array(injected.utf8), storedAtMilliseconds: 0)
        for strategy in [MissStrategy.placeholder, .strip, .textualize] {
            let policy = RestorePolicy(scope: .toolCalls, strategy: strategy, placeholder: [32], thinking: true)
            let pending = ChatRestore.plan(scan, body: input, scope: .toolCalls, builder: builder).pending
            let found = pending.enumerated().map { k, p in p.keys.map { _ in k % 2 == 0 ? stored : nil } }
            let outcome = ChatRestore.outcome(scan, body: input, pending: pending, found: found, policy: policy)
            let edits = outcome.edits + ChatHygiene.compatible(fixes, with: outcome.edits).map(\.edit)
            let out: [UInt8]
            do { out = try JSONSplicer.apply(edits, to: input) } catch {
                require(false, "hygiene and restore edits do not apply together (\(strategy)): \(error.reason)")
                return
            }
            require((try? ChatRequestScan(out)) != nil, "fixed request is not a valid chat request (\(strategy))")
        }
    }

    /// Tool-call rescue (§9) on any text: every call found names an offered tool and carries a
    /// JSON object; on any answer, the rescue edits leave valid JSON with the calls in place.
    static func checkRescue(_ input: UnsafeRawBufferPointer) {
        let text = Array(input)
        let offered: Set<String> = ["get_weather", "read_file", "f", "g"]
        let calls = ToolCallRescue.calls(in: text, offered: offered)
        for call in calls {
            require(offered.contains(call.name), "rescued a tool not offered")
            require(call.arguments.withUnsafeBytes { JSONValidator.isValid($0) } && call.arguments.first == UInt8(ascii: "{"),
                    "rescued arguments are not a JSON object")
        }
        guard let response = try? ChatResponseScan(input), !response.choices.isEmpty else { return }
        let call = ToolCallRescue.Call(name: "f", arguments: Array(#"{"a":"\u0000 \"x\""}"#.utf8))
        let edits = ToolCallRescue.edits(response: response, choice: 0, calls: [call], ids: ["call_fuzz"])
        guard !edits.isEmpty else { return }
        let out: [UInt8]
        do { out = try JSONSplicer.apply(edits, to: input) } catch {
            require(false, "rescue edits do not apply: \(error.reason)")
            return
        }
        let rescanned = try? ChatResponseScan(out)
        require(rescanned?.choices.first?.toolCalls.last?.id == "call_fuzz", "the rescued call is not in the answer")
    }

    /// The same for an Anthropic request: every strategy, hits (signed or from another
    /// upstream) mixed with misses, leaves a valid Anthropic request.
    static func checkAnthropicRestore(_ input: UnsafeRawBufferPointer) {
        guard let scan = try? AnthropicRequestScan(input) else { return }
        let builder = KeyBuilder(tenant: .single)
        let block = Array(#"{"type":"thinking","thinking":"#.utf8) + JSONStringEncoder.encode(Array(injected.utf8))
            + Array(#","signature":"s"}"#.utf8)
        let blocks: [AnthropicThinking.Block] = [.init(before: 0, bytes: block), .init(before: 1, bytes: Array(#"{"type":"redacted_thinking","data":"d"}"#.utf8)),
                                                 .init(before: 9, bytes: block)]
        let stored = StoredReasoning(text: AnthropicThinking(issuer: "a", blocks: blocks).encoded, format: .anthropicThinking,
                                     storedAtMilliseconds: 0)
        for strategy in [MissStrategy.placeholder, .strip, .textualize, .reject] {
            for scope in [UpstreamPreset.RestoreScope.toolCalls, .all] {
                for issuer in ["a", "b"] {
                    let policy = RestorePolicy(scope: scope, strategy: strategy, placeholder: [32], thinking: true)
                    let pending = AnthropicRestore.plan(scan, body: input, scope: scope, builder: builder).pending
                    let found = pending.enumerated().map { k, p in p.keys.map { _ in k % 2 == 0 ? stored : nil } }
                    let outcome = AnthropicRestore.outcome(scan, body: input, pending: pending, found: found, policy: policy, issuer: issuer)
                    let out: [UInt8]
                    do { out = try JSONSplicer.apply(outcome.edits, to: input) } catch {
                        require(false, "anthropic edits do not apply (\(strategy), \(scope)): \(error.reason)")
                        return
                    }
                    require((try? AnthropicRequestScan(out)) != nil, "restored request is not a valid Anthropic request (\(strategy), \(scope))")
                }
            }
        }
    }

    /// An Anthropic stream's capture does not depend on where the reads split, and what it
    /// stores decodes.
    static func checkAnthropicStream(_ input: UnsafeRawBufferPointer) {
        var whole = AnthropicStreamRecorder()
        _ = whole.feed(input)
        let split = input.isEmpty ? 0 : Int(input[0]) * 7919 % (input.count + 1)
        var parts = AnthropicStreamRecorder()
        _ = parts.feed(UnsafeRawBufferPointer(rebasing: input[..<split]))
        _ = parts.feed(UnsafeRawBufferPointer(rebasing: input[split...]))
        let result = whole.finish(completed: true)
        require(result == parts.finish(completed: true), "the Anthropic capture depends on the split at \(split)")
        if let result {
            let value = StoredReasoning(text: AnthropicThinking(issuer: "a", blocks: result.thinking).encoded,
                                        format: .anthropicThinking, storedAtMilliseconds: 0)
            require(value.isWellFormed, "an Anthropic stream capture stores blocks that are not JSON objects")
        }
    }

    static func checkCanonical(_ input: UnsafeRawBufferPointer, valid: Bool) {
        let canonical = JSONCanonical.canonicalArguments(input)
        if !valid {
            require(canonical.elementsEqual(input), "invalid input not kept raw")
            return
        }
        require(JSONValidator.isValidBytes(canonical), "canonical form is not valid JSON")
        require(JSONCanonical.canonicalArguments(canonical) == canonical, "canonical form not idempotent")
    }

    static func checkRequest(_ input: UnsafeRawBufferPointer, valid: Bool) {
        let scan: ChatRequestScan
        do throws(ChatRequestScanError) {
            scan = try ChatRequestScan(input)
        } catch {
            switch error {
            case .syntax(let e):
                require(!valid, "request scan found a syntax error in valid JSON: \(e)")
                if let direct = try? validatorError(input) {
                    require(direct.offset == e.offset, "request scan and validator report different errors: \(e) vs \(direct)")
                }
            case .shape:
                require(valid, "shape error on invalid JSON")
            }
            return
        }
        require(valid, "request scan accepted invalid JSON")

        // Set reasoning on every other message, remove every third, splice, re-scan.
        let encoded = JSONStringEncoder.encode(injected)
        let removed = Set(stride(from: 2, to: scan.messages.count, by: 3))
        var edits = scan.removalEdits(forMessagesAt: removed)
        var changed: [Int] = []
        for (k, m) in scan.messages.enumerated() where k % 2 == 0 && !removed.contains(k) {
            edits.append(m.reasoningEdit(encodedValue: encoded))
            changed.append(k)
        }
        let out: [UInt8]
        do {
            out = try JSONSplicer.apply(edits, to: input)
        } catch {
            fatalError("edits from one scan overlap: \(error)")
        }
        let rescan: ChatRequestScan
        do {
            rescan = try ChatRequestScan(out)
        } catch {
            fatalError("spliced request does not scan: \(error)\n\(String(decoding: out, as: UTF8.self))")
        }
        require(rescan.messages.count == scan.messages.count - removed.count, "message count after removal")
        let keptIndices = scan.messages.indices.filter { !removed.contains($0) }
        out.withUnsafeBytes { raw in
            for (newIndex, oldIndex) in keptIndices.enumerated() where changed.contains(oldIndex) {
                let span = rescan.messages[newIndex].reasoning.stringSpan
                require(span?.decodedString(in: raw) == injected, "injected reasoning does not decode back")
            }
            for (newIndex, oldIndex) in keptIndices.enumerated() {
                require(rescan.messages[newIndex].role == scan.messages[oldIndex].role, "role changed")
                require(rescan.messages[newIndex].toolCalls.map(\.id) == scan.messages[oldIndex].toolCalls.map(\.id), "tool call ids changed")
            }
        }
        require(rescan.model == scan.model && rescan.stream == scan.stream && rescan.thinkingType == scan.thinkingType,
                "top-level fields changed")
        for m in scan.messages {
            _ = m.normalizedContent(in: input)
            for call in m.toolCalls { _ = call.argumentsText(in: input).map { JSONCanonical.canonicalArguments($0) } }
        }
    }

    static func validatorError(_ input: UnsafeRawBufferPointer) throws -> JSONSyntaxError? {
        do { try JSONValidator.validate(input); return nil } catch { return error }
    }

    static func checkResponses(_ input: UnsafeRawBufferPointer, valid: Bool) {
        let response = try? ChatResponseScan(input)
        require((response != nil) == valid, "response scan disagrees with the validator")
        for choice in response?.choices ?? [] {
            require(choice.storedReasoning(storedAtMilliseconds: 0).isWellFormed, "a capture stores an invalid literal")
        }
        let chunk = try? ChatChunkScan(input)
        require((chunk != nil) == valid, "chunk scan disagrees with the validator")
        if let chunk {
            for c in chunk.choices {
                _ = c.reasoning?.decodedBytes(in: input)
                _ = c.content?.decodedBytes(in: input)
                for f in c.toolCalls { _ = f.arguments?.decodedBytes(in: input) }
            }
        }
    }

    /// Parsing in one piece or in two (split where the first byte says) gives the same events
    /// and the same capture; what a capture stores is always one JSON string literal (it is
    /// spliced verbatim into later requests).
    static func checkSSE(_ input: UnsafeRawBufferPointer) {
        var whole = SSEParser()
        var events: [SSEEvent] = []
        var capture = StreamCapture()
        whole.feed(input) { event in
            events.append(SSEEvent(event))
            capture.feed(event.data)
        }
        whole.finish { event in
            events.append(SSEEvent(event))
            capture.feed(event.data)
        }
        let split = input.isEmpty ? 0 : Int(input[0]) * 7919 % (input.count + 1)
        var parts = SSEParser()
        var partEvents: [SSEEvent] = []
        var partCapture = StreamCapture()
        let onPart: (SSEEventView) -> Void = { event in
            partEvents.append(SSEEvent(event))
            partCapture.feed(event.data)
        }
        parts.feed(UnsafeRawBufferPointer(rebasing: input[..<split]), onEvent: onPart)
        parts.feed(UnsafeRawBufferPointer(rebasing: input[split...]), onEvent: onPart)
        parts.finish(onEvent: onPart)
        require(events == partEvents, "SSE events depend on the split at \(split)")
        let result = capture.result()
        require(result == partCapture.result(), "the stream capture depends on the split at \(split)")
        for choice in result ?? [] {
            require(choice.storedReasoning(storedAtMilliseconds: 0).isWellFormed, "a stream capture stores an invalid literal")
        }
    }

    /// Encoding any bytes gives a valid JSON string that decodes to them when they are UTF-8.
    static func checkEncoder(_ input: UnsafeRawBufferPointer) {
        let encoded = JSONStringEncoder.encode(input)
        require(encoded.count == JSONStringEncoder.encodedCount(input), "encodedCount disagrees")
        encoded.withUnsafeBytes { raw in
            var reader = JSONReader(raw)
            guard let span = try? reader.readString(), (try? reader.finish()) != nil else {
                fatalError("encoded string is not one valid JSON string")
            }
            if String(validating: input, as: UTF8.self) != nil {
                require(span.decodedBytes(in: raw).elementsEqual(input), "encoded string does not decode back")
            }
        }
    }
}

extension JSONValidator {
    static func isValidBytes(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { isValid($0) }
    }
}
