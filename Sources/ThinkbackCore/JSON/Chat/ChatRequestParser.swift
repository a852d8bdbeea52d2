/// The single pass behind `ChatRequestScan`: walks the top level and `messages`, skips (and
/// validates) everything else at full speed.
enum ChatRequestParser {
    static func parse(_ body: UnsafeRawBufferPointer, maxDepth: Int) throws(ChatRequestScanError) -> ChatRequestScan {
        var reader = JSONReader(body, maxDepth: maxDepth)
        do {
            return try parseTop(&reader)
        } catch let error as JSONSyntaxError {
            throw .syntax(error)
        } catch let error as ChatRequestShapeError {
            throw .shape(error)
        } catch {
            preconditionFailure("unexpected error \(error)")
        }
    }

    // The walk throws `JSONSyntaxError` or `ChatRequestShapeError`; a shape error is only
    // thrown after the whole body has been validated, so that invalid JSON is always
    // reported as such.

    private static func parseTop(_ r: inout JSONReader) throws -> ChatRequestScan {
        let body = r.bytes
        let topStart = offsetOfValue(&r)
        guard try r.peekKind() == .object else {
            _ = try r.skipValue()
            try r.finish()
            throw ChatRequestShapeError(offset: topStart, reason: "top level is not an object")
        }
        var model: String?
        var stream: Bool?
        var thinkingType: String?
        var messagesRange: Range<Int>?
        var messages: [ChatRequestMessage] = []
        var shapeError: ChatRequestShapeError?
        var modelMember = ChatMember()
        var toolChoice = ChatMember()
        var toolNames: [String] = []

        try r.beginObject()
        while let key = try r.nextKey() {
            switch topName(key, in: body) {
            case .model:
                let v = try r.skipValue()
                model = v.stringSpan?.decodedString(in: body)
                modelMember = ChatMember(kind: v.kind, memberRange: key.content.lowerBound - 1 ..< v.range.upperBound,
                                         valueRange: v.range, hasEscapes: v.hasEscapes)
            case .tools:
                toolNames = try readToolNames(&r)
            case .toolChoice:
                let v = try r.skipValue()
                toolChoice = ChatMember(kind: v.kind, memberRange: key.content.lowerBound - 1 ..< v.range.upperBound,
                                        valueRange: v.range, hasEscapes: v.hasEscapes)
            case .stream:
                let v = try r.skipValue()
                stream = v.kind == .bool ? body[v.range.lowerBound] == UInt8(ascii: "t") : nil
            case .thinking:
                thinkingType = try readThinkingType(&r)
            case .messages:
                let start = offsetOfValue(&r)
                messages = []
                shapeError = nil
                if try r.peekKind() == .array {
                    shapeError = try readMessages(&r, into: &messages)
                    messagesRange = start ..< r.offset
                } else {
                    _ = try r.skipValue()
                    messagesRange = nil
                    shapeError = ChatRequestShapeError(offset: start, reason: "messages is not an array")
                }
            case .other:
                _ = try r.skipValue()
            }
        }
        try r.finish()
        if let shapeError { throw shapeError }
        guard let messagesRange else { throw ChatRequestShapeError(offset: topStart, reason: "messages is missing") }
        var scan = ChatRequestScan(model: model, stream: stream, thinkingType: thinkingType,
                                   messagesRange: messagesRange, messages: messages)
        scan.modelMember = modelMember
        scan.toolChoice = toolChoice
        scan.toolNames = toolNames
        return scan
    }

    /// `tools[].function.name` (anything else is skipped and validated).
    private static func readToolNames(_ r: inout JSONReader) throws -> [String] {
        let body = r.bytes
        guard try r.peekKind() == .array else {
            _ = try r.skipValue()
            return []
        }
        var names: [String] = []
        try r.beginArray()
        while try r.nextElement() {
            guard try r.peekKind() == .object else { _ = try r.skipValue(); continue }
            try r.beginObject()
            while let key = try r.nextKey() {
                guard key.equals("function", in: body), try r.peekKind() == .object else { _ = try r.skipValue(); continue }
                try r.beginObject()
                while let fkey = try r.nextKey() {
                    let v = try r.skipValue()
                    if fkey.equals("name", in: body), let name = v.stringSpan?.decodedString(in: body) { names.append(name) }
                }
            }
        }
        return names
    }

    private static func offsetOfValue(_ r: inout JSONReader) -> Int {
        r.skipWhitespace()
        return r.offset
    }

    private static func readThinkingType(_ r: inout JSONReader) throws -> String? {
        guard try r.peekKind() == .object else {
            _ = try r.skipValue()
            return nil
        }
        var type: String?
        try r.beginObject()
        while let key = try r.nextKey() {
            let v = try r.skipValue()
            if key.equals("type", in: r.bytes) { type = v.stringSpan?.decodedString(in: r.bytes) }
        }
        return type
    }

    /// Reads the messages array; returns the first shape error (a message that is not an
    /// object) after validating the rest.
    private static func readMessages(_ r: inout JSONReader, into messages: inout [ChatRequestMessage]) throws -> ChatRequestShapeError? {
        var shapeError: ChatRequestShapeError?
        try r.beginArray()
        while try r.nextElement() {
            let start = r.offset
            if try r.peekKind() == .object {
                messages.append(try readMessage(&r))
            } else {
                _ = try r.skipValue()
                if shapeError == nil {
                    shapeError = ChatRequestShapeError(offset: start, reason: "message \(messages.count) is not an object")
                }
            }
        }
        return shapeError
    }

    private static func readMessage(_ r: inout JSONReader) throws -> ChatRequestMessage {
        let body = r.bytes
        let start = r.offset
        var m = ChatRequestMessage(range: start ..< start)
        try r.beginObject()
        while let key = try r.nextKey() {
            m.memberCount += 1
            let keyStart = key.content.lowerBound - 1
            let name = memberName(key, in: body)
            if name == .toolCalls, try r.peekKind() == .array {
                let valueStart = r.offset
                m.toolCalls = try readToolCalls(&r)
                m.toolCallsMember = ChatMember(kind: .array, memberRange: keyStart ..< r.offset,
                                               valueRange: valueStart ..< r.offset, hasEscapes: false)
                continue
            }
            let v = try r.skipValue()
            let member = ChatMember(kind: v.kind, memberRange: keyStart ..< v.range.upperBound,
                                    valueRange: v.range, hasEscapes: v.hasEscapes)
            switch name {
            case .role: m.role = v.stringSpan?.decodedString(in: body)
            case .content: m.content = member
            case .reasoningContent: m.reasoning = member
            case .toolCalls:
                m.toolCallsMember = member
                m.toolCalls = []
            case .toolCallId: m.toolCallId = v.stringSpan?.decodedString(in: body)
            case .name: m.name = v.stringSpan?.decodedString(in: body)
            case .other: break
            }
        }
        m.range = start ..< r.offset
        return m
    }

    private static func readToolCalls(_ r: inout JSONReader) throws -> [ChatRequestToolCall] {
        let body = r.bytes
        return try r.readObjects({ start, r in
            var call = ChatRequestToolCall(range: start ..< start)
            try r.beginObject()
            while let key = try r.nextKey() {
                if key.equals("function", in: body), try r.peekKind() == .object {
                    // A repeated `function` replaces the earlier one entirely (last wins).
                    call.name = nil
                    call.arguments = ChatMember()
                    try r.beginObject()
                    while let fkey = try r.nextKey() {
                        let fkeyStart = fkey.content.lowerBound - 1
                        let v = try r.skipValue()
                        if fkey.equals("name", in: body) {
                            call.name = v.stringSpan?.decodedString(in: body)
                        } else if fkey.equals("arguments", in: body) {
                            call.arguments = ChatMember(kind: v.kind, memberRange: fkeyStart ..< v.range.upperBound,
                                                        valueRange: v.range, hasEscapes: v.hasEscapes)
                        }
                    }
                    continue
                }
                let v = try r.skipValue()
                if key.equals("id", in: body) {
                    call.id = v.stringSpan?.decodedString(in: body)
                } else if key.equals("function", in: body) {
                    call.name = nil
                    call.arguments = ChatMember()
                }
            }
            call.range = start ..< r.offset
            return call
        }, other: { ChatRequestToolCall(range: $0) })
    }

    private enum TopName {
        case model, stream, thinking, messages, toolChoice, tools, other
    }

    @inline(__always)
    private static func topName(_ key: JSONStringSpan, in body: UnsafeRawBufferPointer) -> TopName {
        if key.content.count < 5 { return .other }
        if key.equals("model", in: body) { return .model }
        if key.equals("stream", in: body) { return .stream }
        if key.equals("thinking", in: body) { return .thinking }
        if key.equals("messages", in: body) { return .messages }
        if key.equals("tool_choice", in: body) { return .toolChoice }
        if key.equals("tools", in: body) { return .tools }
        return .other
    }

    private enum MemberName {
        case role, content, reasoningContent, toolCalls, toolCallId, name, other
    }

    /// Which message member `key` names; the length is checked first, so unknown keys cost
    /// one comparison.
    @inline(__always)
    private static func memberName(_ key: JSONStringSpan, in body: UnsafeRawBufferPointer) -> MemberName {
        if key.hasEscapes {
            for (literal, name) in [("role", MemberName.role), ("content", .content),
                                    ("reasoning_content", .reasoningContent), ("tool_calls", .toolCalls),
                                    ("tool_call_id", .toolCallId), ("name", .name)] as [(StaticString, MemberName)]
                where key.equals(literal, in: body) {
                return name
            }
            return .other
        }
        switch key.content.count {
        case 4:
            if key.equals("role", in: body) { return .role }
            if key.equals("name", in: body) { return .name }
        case 7 where key.equals("content", in: body): return .content
        case 10 where key.equals("tool_calls", in: body): return .toolCalls
        case 12 where key.equals("tool_call_id", in: body): return .toolCallId
        case 17 where key.equals("reasoning_content", in: body): return .reasoningContent
        default: break
        }
        return .other
    }
}
