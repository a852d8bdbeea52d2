import CLibEvent
import XCTest
import ThinkbackCore
@testable import ThinkbackRuntime

/// curl's codes become transfer outcomes in one place (style.md "Errors").
final class UpstreamOutcomeTests: XCTestCase {
    private func outcome(_ code: CURLcode) -> TransferOutcome {
        UpstreamTransfer.outcome(.easy(Int32(code.rawValue)), raw: nil)
    }

    func testCurlCodesSayHowTheTransferEnded() {
        XCTAssertEqual(outcome(CURLE_OK), .completed)
        for code in [CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION] {
            guard case .connectFailed = outcome(code) else { return XCTFail("\(code): \(outcome(code))") }
        }
        guard case .timedOut = outcome(CURLE_OPERATION_TIMEDOUT) else { return XCTFail("\(outcome(CURLE_OPERATION_TIMEDOUT))") }
        for code in [CURLE_RECV_ERROR, CURLE_PARTIAL_FILE, CURLE_HTTP2_STREAM] {
            guard case .failed = outcome(code) else { return XCTFail("\(code): \(outcome(code))") }
        }
        XCTAssertEqual(outcome(CURLE_COULDNT_CONNECT), .connectFailed(String(cString: cle_curl_strerror(Int32(CURLE_COULDNT_CONNECT.rawValue)))),
                       "in curl's words")
    }

    func testAMultiHandleRefusingTheTransferIsAFailedConnect() {
        XCTAssertEqual(UpstreamTransfer.outcome(.multi(2), raw: nil), .connectFailed("cannot start the transfer (curl multi code 2)"))
    }
}
