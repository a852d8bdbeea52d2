import XCTest
@testable import ThinkbackRuntime
final class ThinkbackRuntimePlaceholderTests: XCTestCase { func testBuilds() { XCTAssertTrue(true) } }
