import XCTest
@testable import ThinkbackCore
final class ThinkbackCorePlaceholderTests: XCTestCase { func testBuilds() { XCTAssertTrue(true) } }
