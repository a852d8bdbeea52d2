import Foundation
import XCTest

@testable import ThinkbackSimCore

/// One event of an SSE stream, as the WHATWG EventSource algorithm dispatches it.
struct SSEEvent: Equatable {
    var event: String?
    var data: String
}

/// A small, independent SSE parser (WHATWG "Interpreting an event stream"): lines end with
/// CRLF, LF or CR; `field: value` with one optional space; `data` lines join with LF; a blank
/// line dispatches; `:` lines are comments.
func parseSSE(_ bytes: [UInt8]) -> (events: [SSEEvent], trailing: String) {
    let text = String(decoding: bytes, as: UTF8.self)
    var events: [SSEEvent] = []
    var data: [String] = []
    var eventName: String?
    var lines: [String] = []
    var current = ""
    var previousCR = false
    for ch in text.unicodeScalars {
        if previousCR, ch == "\n" {
            previousCR = false
            continue
        }
        previousCR = false
        if ch == "\r" || ch == "\n" {
            lines.append(current)
            current = ""
            previousCR = ch == "\r"
        } else {
            current.unicodeScalars.append(ch)
        }
    }
    for line in lines {
        if line.isEmpty {
            if !data.isEmpty || eventName != nil {
                events.append(SSEEvent(event: eventName, data: data.joined(separator: "\n")))
            }
            data = []
            eventName = nil
            continue
        }
        if line.hasPrefix(":") { continue }
        var field = line
        var value = ""
        if let colon = line.firstIndex(of: ":") {
            field = String(line[..<colon])
            value = String(line[line.index(after: colon)...])
            if value.hasPrefix(" ") { value.removeFirst() }
        }
        switch field {
        case "data": data.append(value)
        case "event": eventName = value
        default: break
        }
    }
    return (events, current)
}

/// Parses JSON with Foundation (independent of the simulator's own parser).
func foundationJSON(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) -> [String: Any] {
    do {
        guard let obj = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            XCTFail("not a JSON object: \(String(decoding: bytes, as: UTF8.self))", file: file, line: line)
            return [:]
        }
        return obj
    } catch {
        XCTFail("not JSON (\(error)): \(String(decoding: bytes, as: UTF8.self))", file: file, line: line)
        return [:]
    }
}

func foundationJSON(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> [String: Any] {
    foundationJSON(Array(text.utf8), file: file, line: line)
}

func encode(_ object: Any) -> [UInt8] {
    Array(try! JSONSerialization.data(withJSONObject: object))
}

func bodyText(_ response: SimResponse) -> String { String(decoding: response.body, as: UTF8.self) }

var weatherTools: [[String: Any]] { [
    [
        "type": "function",
        "function": [
            "name": "get_current_weather",
            "description": "Get the current weather for a given city",
            "parameters": [
                "type": "object",
                "properties": [
                    "location": ["type": "string", "description": "City name"],
                    "unit": ["type": "string", "enum": ["celsius", "fahrenheit"]],
                ],
                "required": ["location"],
            ],
        ],
    ],
    [
        "type": "function",
        "function": [
            "name": "get_time",
            "parameters": ["type": "object", "properties": ["timezone": ["type": "string"]], "required": ["timezone"]],
        ],
    ],
] }

var anthropicTools: [[String: Any]] { [
    [
        "name": "get_current_weather",
        "input_schema": [
            "type": "object",
            "properties": ["location": ["type": "string"], "days": ["type": "integer"]],
        ],
    ]
] }

/// Drives a simulator the way a test client would.
struct Client {
    var sim: Simulator
    var key: String? = "sk-tenant-a"
    var authHeader = "Authorization"

    func headers(_ extra: [(String, String)]) -> [(name: String, value: String)] {
        var h: [(name: String, value: String)] = [("Content-Type", "application/json")]
        if let key {
            h.append(authHeader == "Authorization" ? ("Authorization", "Bearer \(key)") : (authHeader, key))
        }
        return h + extra.map { (name: $0.0, value: $0.1) }
    }

    func post(_ path: String, raw: [UInt8], headers extra: [(String, String)] = []) -> SimResponse {
        sim.handle(SimRequest(method: "POST", path: path, headers: headers(extra), body: raw))
    }

    func chat(_ body: [String: Any], headers extra: [(String, String)] = []) -> SimResponse {
        post("/v1/chat/completions", raw: encode(body), headers: extra)
    }

    func messages(_ body: [String: Any], headers extra: [(String, String)] = []) -> SimResponse {
        post("/anthropic/v1/messages", raw: encode(body), headers: extra)
    }

    func get(_ path: String, query: String? = nil) -> SimResponse {
        sim.handle(SimRequest(method: "GET", path: path, query: query, headers: headers([])))
    }
}

/// A fresh simulator with a fixed clock.
func makeSim(_ config: SimConfig = SimConfig()) -> Simulator {
    var c = config
    c.now = { 1_781_233_054 }
    return Simulator(config: c)
}

/// The assistant message of an OpenAI non-stream response.
func assistantMessage(_ response: SimResponse, file: StaticString = #filePath, line: UInt = #line) -> [String: Any] {
    let obj = foundationJSON(response.body, file: file, line: line)
    let choices = obj["choices"] as? [[String: Any]] ?? []
    return choices.first?["message"] as? [String: Any] ?? [:]
}

/// A user turn that makes the model call tools.
func toolRequest(_ messages: [[String: Any]], model: String = "mimo-v2.5-pro", extra: [String: Any] = [:]) -> [String: Any] {
    var body: [String: Any] = ["model": model, "messages": messages, "tools": weatherTools]
    for (k, v) in extra { body[k] = v }
    return body
}

/// Runs one full tool round (question → tool calls → tool results → answer) and returns the
/// history including the final assistant message, as a client that keeps everything would.
func runToolRound(_ client: Client, history: [[String: Any]], question: String, model: String = "mimo-v2.5-pro",
                  file: StaticString = #filePath, line: UInt = #line) -> [[String: Any]] {
    var messages = history + [["role": "user", "content": question]]
    let first = client.chat(toolRequest(messages, model: model))
    XCTAssertEqual(first.status, 200, bodyText(first), file: file, line: line)
    let call = assistantMessage(first, file: file, line: line)
    messages.append(call)
    for tc in call["tool_calls"] as? [[String: Any]] ?? [] {
        messages.append(["role": "tool", "tool_call_id": tc["id"] as! String, "content": "Sunny 25°C"])
    }
    let second = client.chat(toolRequest(messages, model: model))
    XCTAssertEqual(second.status, 200, bodyText(second), file: file, line: line)
    messages.append(assistantMessage(second, file: file, line: line))
    return messages
}

/// A history whose assistant tool-call message carries `reasoning` (nil: member absent,
/// NSNull: null), with the tool result answering it.
func toolHistory(reasoning: Any?, callID: String = "call_0123456789abcdef01234567") -> [[String: Any]] {
    var assistant: [String: Any] = [
        "role": "assistant", "content": "",
        "tool_calls": [
            ["id": callID, "type": "function", "function": ["name": "get_time", "arguments": #"{"timezone": "UTC"}"#]]
        ],
    ]
    if let reasoning { assistant["reasoning_content"] = reasoning }
    return [
        ["role": "user", "content": "What time is it?"],
        assistant,
        ["role": "tool", "tool_call_id": callID, "content": "12:00"],
    ]
}
