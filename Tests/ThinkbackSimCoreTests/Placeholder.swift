import XCTest
@testable import ThinkbackSimCore
final class ThinkbackSimCorePlaceholderTests: XCTestCase { func testBuilds() { XCTAssertTrue(true) } }
