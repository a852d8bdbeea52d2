import XCTest
@testable import ThinkbackCore

/// thinkback's own errors: the OpenAI body as clients read it, and where each came from.
final class ProxyErrorTests: XCTestCase {
    func testEachErrorSaysWhereItCameFromAndWhetherARetryIsAllowed() {
        let cases: [(ProxyError, Int, ProxyError.Origin, Bool)] = [
            (.notFound("/v2/x"), 404, .client, false),
            (.methodNotAllowed("TRACE", "/"), 405, .client, false),
            (.badRequest("two Content-Length values"), 400, .client, false),
            (.tooLarge(limit: 10), 413, .client, false),
            (.badJSON(offset: 3, reason: "unexpected end"), 400, .client, false),
            (.reasoningMissing(messageIndex: 1), 409, .client, false),
            (.unreachable("Couldn't connect to server"), 502, .upstream, true),
            (.timeout("no response within the first-byte deadline"), 504, .upstream, true),
            (.responseTooLarge(), 502, .upstream, false),
            (.streamBroken("Recv failure"), 502, .upstream, false),
            (.draining(), 503, .internal, true),
        ]
        for (error, status, origin, retryable) in cases {
            XCTAssertEqual(error.status, status, error.code)
            XCTAssertEqual(error.origin, origin, error.code)
            XCTAssertEqual(error.isRetryable, retryable, error.code)
            XCTAssertEqual(error.headerValue, "origin=\(origin.rawValue) retryable=\(retryable)")
        }
        XCTAssertEqual(Set(cases.map(\.0.code)).count, cases.count, "every error has its own code")
    }

    func testABrokenStreamIsNeverRetryableThoughTheSameFailureBeforeTheFirstByteIs() {
        XCTAssertTrue(ProxyError.unreachable("Recv failure").isRetryable)
        XCTAssertFalse(ProxyError.streamBroken("Recv failure").isRetryable)
    }

    /// The bodies as thinkback wrote them before errors said their origin: clients and tests
    /// read these fields.
    func testBodiesKeepTheirOpenAIShapeByteForByte() {
        let bodies: [(ProxyError, String)] = [
            (.notFound("/v2/x"),
             #"{"error":{"message":"thinkback: unknown route /v2/x","type":"invalid_request_error","code":"not_found"}}"#),
            (.methodNotAllowed("TRACE", "/"),
             #"{"error":{"message":"thinkback: TRACE is not allowed on /","type":"invalid_request_error","code":"method_not_allowed"}}"#),
            (.badRequest("a control character"),
             #"{"error":{"message":"thinkback: malformed request: a control character","type":"invalid_request_error","code":"bad_request"}}"#),
            (.tooLarge(limit: 10),
             #"{"error":{"message":"thinkback: request body larger than 10 bytes","type":"invalid_request_error","code":"request_too_large"}}"#),
            (.badJSON(offset: 7, reason: "unexpected \"x\"\n"),
             #"{"error":{"message":"thinkback: request body is not valid JSON at byte 7: unexpected \"x\"\n","type":"invalid_request_error","code":"invalid_json"}}"#),
            (.reasoningMissing(messageIndex: 2),
             #"{"error":{"message":"thinkback: the reasoning_content of messages[2] (an assistant tool call) is not cached and the miss strategy is reject; resend it with its reasoning_content or start a new conversation","type":"invalid_request_error","code":"reasoning_missing"}}"#),
            (.unreachable("Couldn't connect to server"),
             #"{"error":{"message":"thinkback: provider unreachable: Couldn't connect to server","type":"upstream_error","code":"upstream_unreachable"}}"#),
            (.timeout("Timeout was reached"),
             #"{"error":{"message":"thinkback: provider timed out: Timeout was reached","type":"upstream_error","code":"upstream_timeout"}}"#),
            (.responseTooLarge(),
             #"{"error":{"message":"thinkback: the provider's answer is larger than --max-response-bytes","type":"upstream_error","code":"upstream_response_too_large"}}"#),
            (.draining(),
             #"{"error":{"message":"thinkback: shutting down, retry on another instance","type":"server_error","code":"draining"}}"#),
        ]
        for (error, body) in bodies {
            XCTAssertEqual(text(error.openAIBody), body)
        }
    }

    func testErrorsAreEqualByWhatHappened() {
        XCTAssertEqual(ProxyError.timeout("a"), .timeout("a"))
        XCTAssertNotEqual(ProxyError.timeout("a"), .timeout("b"))
        XCTAssertNotEqual(ProxyError.unreachable("a"), .timeout("a"))
        XCTAssertEqual("\(ProxyError.draining())", "thinkback: shutting down, retry on another instance")
    }
}
