import XCTest

@testable import ThinkbackSimCore

/// Routes besides chat: models, stats, reset, last bodies, 404.
final class AdminRouteTests: XCTestCase {
    func testModelsListsTheMiMoModels() {
        let r = Client(sim: makeSim()).get("/v1/models")
        XCTAssertEqual(r.status, 200)
        let ids = (foundationJSON(r.body)["data"] as! [[String: Any]]).map { $0["id"] as! String }
        XCTAssertEqual(ids, ["mimo-v2.5-pro", "mimo-v2.5", "mimo-v2-pro", "mimo-v2-omni", "mimo-v2-flash"])
        var anonymous = Client(sim: makeSim())
        anonymous.key = nil
        XCTAssertEqual(anonymous.get("/v1/models").status, 401)
    }

    func testLastReturnsTheRawBytesOfRecentChatBodies() {
        let client = Client(sim: makeSim())
        let first = Array(#"{"model": "mimo-v2.5-pro",   "messages": [{"role": "user", "content": "\u5317"}]}"#.utf8)
        let second = Array(#"{"model":"mimo-v2.5-pro","messages":[{"role":"user","content":"x"}],"stream":false}"#.utf8)
        _ = client.post("/v1/chat/completions", raw: first)
        _ = client.post("/anthropic/v1/messages", raw: second)
        XCTAssertEqual(client.get("/sim/last").body, second)
        XCTAssertEqual(client.get("/sim/last", query: "n=1").body, second)
        XCTAssertEqual(client.get("/sim/last", query: "n=2").body, first)
        XCTAssertEqual(client.get("/sim/last", query: "n=3").status, 404)
        XCTAssertEqual(client.get("/sim/last", query: "n=x").status, 400)
        for i in 0..<25 { _ = client.post("/v1/chat/completions", raw: Array("\(i)".utf8)) }
        XCTAssertEqual(client.get("/sim/last", query: "n=20").body, Array("5".utf8))
        XCTAssertEqual(client.get("/sim/last", query: "n=21").status, 404)
    }

    func testStatsNeedNoAuthAndCountRequests() {
        let sim = makeSim()
        _ = Client(sim: sim).chat(["model": "mimo-v2.5-pro", "messages": [["role": "user", "content": "x"]]])
        let r = sim.handle(SimRequest(method: "GET", path: "/sim/stats"))
        XCTAssertEqual(r.status, 200)
        let stats = foundationJSON(r.body)
        XCTAssertEqual(stats["requests"] as? Int, 2)
        XCTAssertEqual(stats["chat_requests"] as? Int, 1)
        XCTAssertEqual(stats["issued"] as? Int, 1)
    }

    func testUnknownRoutesAre404JSON() {
        let client = Client(sim: makeSim())
        for (method, path) in [("GET", "/nope"), ("GET", "/v1/chat/completions"), ("DELETE", "/sim/stats")] {
            let r = client.sim.handle(SimRequest(method: method, path: path))
            XCTAssertEqual(r.status, 404, "\(method) \(path)")
            XCTAssertNotNil(foundationJSON(r.body)["error"])
        }
        XCTAssertEqual(foundationJSON(client.sim.handle(SimRequest(method: "GET", path: "/anthropic/x")).body)["type"] as? String, "error")
    }

    func testChatCompletionsWithoutV1Prefix() {
        let r = Client(sim: makeSim()).post(
            "/chat/completions", raw: encode(["model": "deepseek-v4-pro", "messages": [["role": "user", "content": "x"]]]))
        XCTAssertEqual(r.status, 200)
    }
}
