import XCTest
@testable import ThinkbackCore

final class SecondCountersTests: XCTestCase {
    func testEachSecondKeepsWhatEachCounterGrewOldestFirst() {
        var r = SecondCounters(series: 2, capacity: 3)
        r.start([10, 0])
        XCTAssertEqual(r.series(0), [])
        r.tick([12, 1])
        r.tick([12, 4])
        XCTAssertEqual(r.series(0), [2, 0])
        XCTAssertEqual(r.series(1), [1, 3])
        r.tick([20, 4])
        r.tick([21, 9])
        XCTAssertEqual(r.series(0), [0, 8, 1], "only the last 3 seconds, oldest first")
        XCTAssertEqual(r.series(1), [3, 0, 5])
        r.tick([5, 9])
        XCTAssertEqual(r.series(0), [8, 1, 0], "a total that went down counts 0")
    }
}
