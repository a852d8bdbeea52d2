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
    }

    func testUpstreamPathKeepsTheQuery() {
        XCTAssertEqual(Route.chatCompletions.upstreamPath, "/chat/completions")
        XCTAssertEqual(Route.query(of: "/v1/models?limit=2"), "?limit=2")
        XCTAssertEqual(Route.query(of: "/v1/models"), "")
    }
}

final class ConfigTests: XCTestCase {
    func testDefaultsAreTheDocumentedOnes() throws {
        let c = try Config.resolve(flags: [:], environment: [:])
        XCTAssertEqual(c.listenHost, "127.0.0.1")
        XCTAssertEqual(c.listenPort, 8899)
        XCTAssertEqual(c.upstream.name, "mimo")
        XCTAssertEqual(c.upstream.baseURL, "https://api.xiaomimimo.com/v1")
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
