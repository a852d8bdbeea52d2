import Foundation
import XCTest
@testable import ThinkbackCore

final class RouteTests: XCTestCase {
    func testMatchesTheDocumentedRoutes() {
        XCTAssertEqual(Route.match(method: "POST", target: "/v1/chat/completions"), .chatCompletions)
        XCTAssertEqual(Route.match(method: "POST", target: "/chat/completions?x=1"), .chatCompletions)
        XCTAssertEqual(Route.match(method: "GET", target: "/v1/models"), .models)
        XCTAssertEqual(Route.match(method: "GET", target: "/health"), .health)
        XCTAssertEqual(Route.match(method: "GET", target: "/ready"), .ready)
        XCTAssertEqual(Route.match(method: "GET", target: "/"), .status)
        XCTAssertEqual(Route.match(method: "GET", target: "/v1/chat/completions"), .methodNotAllowed)
        XCTAssertEqual(Route.match(method: "POST", target: "/v2/whatever"), .notFound)
        XCTAssertEqual(Route.match(method: "POST", target: "/anthropic/v1/messages"), .messages)
        XCTAssertEqual(Route.match(method: "POST", target: "/v1/messages?beta=true"), .messages)
        XCTAssertEqual(Route.match(method: "GET", target: "/anthropic/v1/messages"), .methodNotAllowed)
    }

    /// Every other path under /v1/ and /anthropic/v1/ is relayed (issue 19), any method.
    func testOtherPathsUnderTheBasesAreRelayed() {
        for method in ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] {
            XCTAssertEqual(Route.match(method: method, target: "/v1/embeddings"), .passthrough, method)
            XCTAssertEqual(Route.match(method: method, target: "/v1/files/file-1/content?x=%20"), .passthrough, method)
            XCTAssertEqual(Route.match(method: method, target: "/anthropic/v1/messages/count_tokens"), .anthropicPassthrough, method)
            XCTAssertEqual(Route.match(method: method, target: "/v1/messages/count_tokens?beta=true"), .anthropicPassthrough, method)
            XCTAssertEqual(Route.match(method: method, target: "/anthropic/v1/models"), .anthropicPassthrough, method)
        }
        XCTAssertEqual(Route.match(method: "GET", target: "/v1"), .notFound)
        XCTAssertEqual(Route.match(method: "GET", target: "/anthropic/v2/x"), .notFound)
        XCTAssertTrue(Route.passthrough.isPassthrough)
        XCTAssertFalse(Route.messages.isPassthrough)
    }

    /// What would leave the base, or is not a URL, never goes upstream.
    func testPathsThatWouldLeaveTheBaseAreRefused() {
        for target in ["/v1/../admin", "/v1/a/./b", "/v1/a/..", "/v1/.", "/anthropic/v1/../../x", "/v1/a\\b",
                       "/v1/a#frag", "/v1/\u{1}", "/v1/é", "/v1/x?q=a#b", "/v1/chat/completions?\u{7f}"] {
            XCTAssertEqual(Route.match(method: "POST", target: target), .badPath, target)
        }
        for target in ["/v1/a..b/.c/..d", "/v1/%2e%2e/x", "/v1/x?path=../y"] {
            XCTAssertEqual(Route.match(method: "GET", target: target), .passthrough, target)
        }
    }

    func testUpstreamPathPerBase() {
        XCTAssertEqual(Route.chatCompletions.upstreamPath(target: "/v1/chat/completions?x=1"), "/chat/completions")
        XCTAssertEqual(Route.models.upstreamPath(target: "/models"), "/models")
        XCTAssertEqual(Route.messages.upstreamPath(target: "/v1/messages?beta=true"), "/v1/messages")
        XCTAssertEqual(Route.passthrough.upstreamPath(target: "/v1/embeddings?a=b"), "/embeddings")
        XCTAssertEqual(Route.anthropicPassthrough.upstreamPath(target: "/anthropic/v1/messages/count_tokens"), "/v1/messages/count_tokens")
        XCTAssertEqual(Route.anthropicPassthrough.upstreamPath(target: "/v1/messages/count_tokens?beta=true"), "/v1/messages/count_tokens")
        XCTAssertNil(Route.status.upstreamPath(target: "/"))
        XCTAssertEqual(Route.messages.api, .anthropic)
        XCTAssertEqual(Route.passthrough.api, .openAI)
        XCTAssertNil(Route.health.api)
        XCTAssertTrue(Route.isAnthropicPath("/anthropic/x"))
        XCTAssertTrue(Route.isAnthropicPath("/v1/messages/count_tokens"))
        XCTAssertFalse(Route.isAnthropicPath("/v1/chat/completions"))
    }

    func testUpstreamPathKeepsTheQuery() {
        XCTAssertEqual(Route.query(of: "/v1/models?limit=2"), "?limit=2")
        XCTAssertEqual(Route.query(of: "/v1/models"), "")
    }

    /// Thinkback's own errors take Anthropic's shape on Anthropic routes.
    func testAnthropicErrorShape() throws {
        let body = ProxyError.methodNotAllowed("GET", "/anthropic/v1/messages").body(for: .anthropic)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
        XCTAssertEqual(json["type"] as? String, "error")
        let error = try XCTUnwrap(json["error"] as? [String: Any])
        XCTAssertEqual(error["type"] as? String, "invalid_request_error")
        XCTAssertEqual(error["message"] as? String, "thinkback: GET is not allowed on /anthropic/v1/messages")
        XCTAssertEqual(ProxyError.notFound("/x").anthropicType, "not_found_error")
        XCTAssertEqual(ProxyError.timeout("t").anthropicType, "timeout_error")
        XCTAssertEqual(ProxyError.unreachable("u").anthropicType, "api_error")
        XCTAssertEqual(ProxyError.draining().anthropicType, "overloaded_error")
        XCTAssertEqual(ProxyError.tooLarge(limit: 1).anthropicType, "request_too_large")
        XCTAssertEqual(ProxyError.notFound("/x").body(for: .openAI), ProxyError.notFound("/x").openAIBody)
    }
}

final class ConfigTests: XCTestCase {
    func testDefaultsAreTheDocumentedOnes() throws {
        let c = try Config.resolve(flags: [:], environment: [:])
        XCTAssertEqual(c.listenHost, "127.0.0.1")
        XCTAssertEqual(c.listenPort, 8899)
        XCTAssertEqual(c.upstream.name, "mimo")
        XCTAssertEqual(c.upstream.baseURL, "https://api.xiaomimimo.com/v1")
        XCTAssertEqual(c.anthropicBaseURL, "https://api.xiaomimimo.com/anthropic")
    }

    /// The Anthropic-compatible base: the preset's, beside a URL's /v1, or --anthropic-upstream.
    func testAnthropicBase() throws {
        XCTAssertEqual(try Config.resolve(flags: ["upstream": "deepseek"], environment: [:]).anthropicBaseURL,
                       "https://api.deepseek.com/anthropic")
        XCTAssertEqual(try Config.resolve(flags: ["upstream": "cloudsway"], environment: [:]).anthropicBaseURL,
                       "https://genaiapi.cloudsway.net")
        XCTAssertEqual(try Config.resolve(flags: ["upstream": "http://127.0.0.1:9/v1/"], environment: [:]).anthropicBaseURL,
                       "http://127.0.0.1:9/anthropic")
        XCTAssertEqual(try Config.resolve(flags: ["upstream": "http://h:9"], environment: [:]).anthropicBaseURL,
                       "http://h:9/anthropic")
        XCTAssertEqual(try Config.resolve(flags: ["upstream": "kimi", "anthropic-upstream": "https://a.example/x/"], environment: [:]).anthropicBaseURL,
                       "https://a.example/x")
        XCTAssertThrowsError(try Config.resolve(flags: ["anthropic-upstream": "a.example"], environment: [:]))
    }

    func testFlagsWinOverEnvironment() throws {
        let c = try Config.resolve(flags: ["listen": "127.0.0.1:9000"],
                                   environment: ["THINKBACK_LISTEN": "127.0.0.1:9100", "THINKBACK_UPSTREAM": "deepseek"])
        XCTAssertEqual(c.listenPort, 9000)
        XCTAssertEqual(c.upstream.baseURL, "https://api.deepseek.com")
        XCTAssertEqual(c.upstream.restoreScope, .all)
    }

    func testUpstreamTakesPresetsOrBaseURLs() throws {
        for preset in UpstreamPreset.all {
            XCTAssertEqual(try Config.resolve(flags: ["upstream": preset.name], environment: [:]).upstream, preset)
        }
        let custom = try Config.resolve(flags: ["upstream": "http://127.0.0.1:1234/v1/"], environment: [:])
        XCTAssertEqual(custom.upstream.baseURL, "http://127.0.0.1:1234/v1")
        XCTAssertThrowsError(try Config.resolve(flags: ["upstream": "nonsense"], environment: [:]))
    }

    func testRejectsBadValuesWithTheOptionName() {
        XCTAssertThrowsError(try Config.resolve(flags: ["max-body-bytes": "-3"], environment: [:])) { error in
            XCTAssertTrue("\(error)".contains("max-body-bytes"))
        }
        XCTAssertThrowsError(try Config.resolve(flags: ["listen": "nowhere"], environment: [:]))
        XCTAssertThrowsError(try Config.resolve(flags: ["http2": "maybe"], environment: [:]))
    }

    func testStreamBufferBytesDefaultsToCurlsMinimumAndIsBounded() throws {
        XCTAssertEqual(try Config.resolve(flags: [:], environment: [:]).streamBufferBytes, 1024)
        XCTAssertEqual(try Config.resolve(flags: ["stream-buffer-bytes": "4096"], environment: [:]).streamBufferBytes, 4096)
        for bad in ["512", "1048576", "x"] {
            XCTAssertThrowsError(try Config.resolve(flags: ["stream-buffer-bytes": bad], environment: [:])) { error in
                XCTAssertTrue("\(error)".contains("stream-buffer-bytes"))
            }
        }
    }

    func testCommandLineParsing() throws {
        XCTAssertEqual(try CommandLineParser.parse(["--listen", "1.2.3.4:5", "--retries=2"]),
                       .run(flags: ["listen": "1.2.3.4:5", "retries": "2"]))
        XCTAssertEqual(try CommandLineParser.parse(["--help"]), .help)
        XCTAssertThrowsError(try CommandLineParser.parse(["--bogus", "1"]))
        XCTAssertThrowsError(try CommandLineParser.parse(["--listen"]))
    }

    func testEveryOptionHasAnEnvironmentVariable() {
        XCTAssertTrue(Config.options.contains { $0.environmentVariable == "THINKBACK_FIRST_BYTE_TIMEOUT_MS" })
    }
}

final class ResponseHeadTests: XCTestCase {
    private func feed(_ head: inout ResponseHead, _ line: String) -> Bool {
        Array(line.utf8).withUnsafeBytes { head.feed(line: $0) }
    }

    func testParsesStatusAndHeadersAndSkipsInterim100() {
        var h = ResponseHead()
        XCTAssertFalse(feed(&h, "HTTP/1.1 100 Continue\r\n"))
        XCTAssertFalse(feed(&h, "\r\n"))
        XCTAssertFalse(feed(&h, "HTTP/1.1 429 Too Many Requests\r\n"))
        XCTAssertFalse(feed(&h, "Retry-After: 3\r\n"))
        XCTAssertFalse(feed(&h, "Content-Type: text/event-stream; charset=utf-8\r\n"))
        XCTAssertFalse(feed(&h, "Transfer-Encoding: chunked\r\n"))
        XCTAssertTrue(feed(&h, "\r\n"))
        XCTAssertEqual(h.status, 429)
        XCTAssertEqual(h.value("retry-after"), "3")
        XCTAssertTrue(h.isEventStream)
        XCTAssertFalse(h.forwardableHeaders.contains { $0.name == "Transfer-Encoding" })
    }

    func testHTTP2StatusLine() {
        var h = ResponseHead()
        _ = feed(&h, "HTTP/2 200 \r\n")
        XCTAssertTrue(feed(&h, "\r\n"))
        XCTAssertEqual(h.status, 200)
    }

    func testErrorBodyIsOpenAIShapedAndEscaped() throws {
        let body = ProxyError.badJSON(offset: 7, reason: "unexpected \"x\"\n").openAIBody
        let obj = try JSONSerialization.jsonObject(with: Data(body)) as? [String: [String: String]]
        XCTAssertEqual(obj?["error"]?["code"], "invalid_json")
        XCTAssertTrue(obj?["error"]?["message"]?.contains("byte 7") ?? false)
    }
}

final class ConfigFileTests: XCTestCase {
    func testTheFileFlagsAndEnvironmentInThatOrder() throws {
        let file = "# comment\n  miss = reject \n\nrestore=all\r\nplaceholder = a b\n"
        XCTAssertEqual(try Config.parseFile(file), ["miss": "reject", "restore": "all", "placeholder": "a b"])
        let fromFile = try Config.resolve(flags: [:], environment: [:], fileText: file)
        XCTAssertEqual(fromFile.miss, .reject)
        XCTAssertEqual(fromFile.placeholder, "a b")
        XCTAssertEqual(try Config.resolve(flags: [:], environment: ["THINKBACK_MISS": "strip"], fileText: file).miss, .strip)
        XCTAssertEqual(try Config.resolve(flags: ["miss": "textualize"], environment: ["THINKBACK_MISS": "strip"], fileText: file).miss, .textualize)
        XCTAssertThrowsError(try Config.parseFile("miss reject\n")) { XCTAssertTrue("\($0)".contains("line 1")) }
        XCTAssertThrowsError(try Config.parseFile("\nnope = 1\n")) { XCTAssertTrue("\($0)".contains("line 2: unknown option 'nope'")) }
        XCTAssertThrowsError(try Config.resolve(flags: [:], environment: [:], fileText: "miss = sometimes\n"))
    }

    func testWhatOnlyARestartChanges() throws {
        let a = try Config.resolve(flags: [:], environment: [:])
        var b = a
        b.miss = .reject
        b.logLevel = "debug"
        XCTAssertEqual(a.restartOnlyChanges(to: b), [])
        b.listenPort = 1
        b.store = .memory
        XCTAssertEqual(a.restartOnlyChanges(to: b), ["listen", "store"])
    }
}
