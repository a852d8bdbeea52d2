import XCTest
@testable import ThinkbackCore

final class CacheKeyTests: XCTestCase {
    private let alice = TenantID(secret: Array("secret".utf8), credential: Array("sk-alice".utf8))
    private let bob = TenantID(secret: Array("secret".utf8), credential: Array("sk-bob".utf8))

    private func toolKey(_ id: String, tenant: TenantID? = nil) -> CacheKey? {
        KeyBuilder(tenant: tenant ?? alice).toolCallKey(id: Array(id.utf8))
    }

    private func contentKey(_ content: String, _ calls: [(String, String)], tenant: TenantID? = nil) -> CacheKey? {
        KeyBuilder(tenant: tenant ?? alice).contentKey(
            content: Array(content.utf8),
            toolCalls: calls.map { (name: Array($0.0.utf8), arguments: Array($0.1.utf8)) }
        )
    }

    // MARK: Tenants

    func testTenantIsFirst16BytesOfHMACOfCredential() {
        // Python: hmac.new(b"secret", b"sk-test-credential", "sha256").hexdigest()[:32]
        let tenant = TenantHasher(secret: Array("secret".utf8)).tenant(forCredential: Array("sk-test-credential".utf8))
        XCTAssertEqual(tenant.description, "193576ed73e2de4d6d39664876a7d29a")
        XCTAssertEqual(tenant.bytes.count, TenantID.byteCount)
        XCTAssertEqual(TenantID(secret: Array("secret".utf8), credential: Array("sk-test-credential".utf8)), tenant)
    }

    func testTenantDependsOnCredentialAndSecret() {
        let hasher = TenantHasher(secret: Array("secret".utf8))
        XCTAssertEqual(hasher.tenant(forCredential: Array("sk-alice".utf8)), alice)
        XCTAssertNotEqual(alice, bob)
        XCTAssertNotEqual(TenantID(secret: Array("other".utf8), credential: Array("sk-alice".utf8)), alice)
        let raw = Array("sk-alice".utf8).withUnsafeBytes { hasher.tenant(forCredential: $0) }
        XCTAssertEqual(raw, alice)
    }

    func testTenantDescriptionNeverShowsTheCredential() {
        let credential = "sk-0123456789abcdef"
        let tenant = TenantID(secret: Array("s".utf8), credential: Array(credential.utf8))
        XCTAssertEqual(tenant.description.count, 32)
        XCTAssertFalse(tenant.description.contains("0123456789abcdef"))
        XCTAssertFalse(tenant.description.contains("sk-"))
    }

    func testSingleTenantIsAllZeroAndRoundTrips() {
        XCTAssertEqual(TenantID.single.bytes, [UInt8](repeating: 0, count: 16))
        XCTAssertEqual(TenantID(bytes: alice.bytes), alice)
        XCTAssertNil(TenantID(bytes: [1, 2, 3]))
    }

    // MARK: Tool-call ids

    func testNormalisationKeepsOnlyASCIIAlphanumerics() {
        XCTAssertEqual(KeyBuilder.normalizedToolCallID(Array("call_abc-123.X".utf8)), Array("callabc123X".utf8))
        XCTAssertEqual(KeyBuilder.normalizedToolCallID(Array("call_é北1".utf8)), Array("call1".utf8))
        XCTAssertEqual(KeyBuilder.normalizedToolCallID(Array(" \t{}[]".utf8)), [])
    }

    func testIdWithoutUnderscoreFindsTheSameKey() {
        XCTAssertEqual(toolKey("call_00_abc"), toolKey("call00abc"))
        XCTAssertEqual(toolKey("functions.read:0"), toolKey("functionsread0"))
    }

    func testIdCaseIsKept() {
        XCTAssertNotEqual(toolKey("call_Abc"), toolKey("call_abc"))
    }

    func testIdThatNormalisesToNothingHasNoKey() {
        XCTAssertNil(toolKey(""))
        XCTAssertNil(toolKey("___"))
        XCTAssertNil(toolKey("北京"))
    }

    func testToolCallKeyIsSHA256OfNormalisedId() {
        let key = toolKey("call_1")
        XCTAssertEqual(key?.digest, SHA256.hash(Array("call1".utf8)))
        XCTAssertEqual(key?.kind, .toolCall)
        XCTAssertEqual(key?.tenant, alice)
        let raw = Array("call_1".utf8).withUnsafeBytes { KeyBuilder(tenant: alice).toolCallKey(id: $0) }
        XCTAssertEqual(raw, key)
    }

    func testRunByRunHashingMatchesHashOfNormalisedCopy() {
        // Runs of kept bytes of every length, split across SHA-256 block boundaries.
        let ids = ["", "_", "a", "_a_", "a_b", "call_0_abcdef0123456789", "__x__y__", "北a京b",
                   String(repeating: "ab_", count: 40), String(repeating: "x", count: 64) + "_" + String(repeating: "y", count: 63),
                   "-" + String(repeating: "z", count: 130) + "-"]
        for id in ids {
            let normalized = KeyBuilder.normalizedToolCallID(Array(id.utf8))
            let expected = normalized.isEmpty ? nil : SHA256.hash(normalized)
            XCTAssertEqual(toolKey(id)?.digest, expected, id)
            XCTAssertEqual(Array(id.utf8).withUnsafeBytes { KeyBuilder(tenant: alice).toolCallKey(id: $0) }?.digest, expected, id)
            // A non-contiguous collection takes the copying path.
            XCTAssertEqual(KeyBuilder(tenant: alice).toolCallKey(id: id.utf8.lazy.map { $0 })?.digest, expected, id)
        }
    }

    func testSameIdUnderTwoTenantsGivesDifferentKeys() {
        XCTAssertNotEqual(toolKey("call_1", tenant: alice), toolKey("call_1", tenant: bob))
        XCTAssertEqual(Set([toolKey("call_1", tenant: alice), toolKey("call_1", tenant: bob)]).count, 2)
    }

    // MARK: Content keys

    func testContentKeyEncodingIsLengthPrefixed() {
        func field(_ text: String) -> [UInt8] {
            let bytes = Array(text.utf8)
            return withUnsafeBytes(of: UInt64(bytes.count).bigEndian) { Array($0) } + bytes
        }
        let expected = SHA256.hash(field("Let me look.") + field("read") + field(#"{"path":"a"}"#) + field("ls") + field("{}"))
        let key = contentKey("Let me look.", [("read", #"{"path":"a"}"#), ("ls", "{}")])
        XCTAssertEqual(key?.digest, expected)
        XCTAssertEqual(key?.kind, .content)
    }

    func testContentKeyFieldBoundariesAreUnambiguous() {
        XCTAssertNotEqual(contentKey("ab", [("c", "{}")]), contentKey("a", [("bc", "{}")]))
        XCTAssertNotEqual(contentKey("", [("ab", "c")]), contentKey("", [("a", "bc")]))
        XCTAssertNotEqual(contentKey("x", [("a", ""), ("b", "")]), contentKey("x", [("a", ""), ("", "b")]))
    }

    func testContentKeyDependsOnToolCallOrderAndArguments() {
        let ab = contentKey("", [("a", "1"), ("b", "2")])
        XCTAssertNotEqual(ab, contentKey("", [("b", "2"), ("a", "1")]))
        XCTAssertNotEqual(ab, contentKey("", [("a", "1"), ("b", "3")]))
        XCTAssertEqual(ab, contentKey("", [("a", "1"), ("b", "2")]))
    }

    func testContentKeyNeedsContentOrToolCalls() {
        XCTAssertNil(contentKey("", []))
        XCTAssertNotNil(contentKey("", [("read", "{}")]))
        XCTAssertNotNil(contentKey("Done.", []))
    }

    func testContentAndToolCallKeysOfSameBytesDiffer() {
        XCTAssertNotEqual(toolKey("abc"), contentKey("abc", []))
    }

    func testContentKeyHasherRawAndCollectionInputsAgree() {
        var fromArrays = ContentKeyHasher(content: Array("hi".utf8))
        fromArrays.addToolCall(name: Array("f".utf8), arguments: Array("{}".utf8))
        var fromRaw = Array("hi".utf8).withUnsafeBytes { ContentKeyHasher(content: $0) }
        Array("f".utf8).withUnsafeBytes { name in
            Array("{}".utf8).withUnsafeBytes { fromRaw.addToolCall(name: name, arguments: $0) }
        }
        XCTAssertEqual(fromArrays.finalize(), fromRaw.finalize())
        XCTAssertEqual(fromRaw.toolCallCount, 1)
    }

    // MARK: Encoding

    func testKeyBytesAreTenantKindDigest() throws {
        let key = try XCTUnwrap(toolKey("call_1"))
        let bytes = key.bytes
        XCTAssertEqual(bytes.count, CacheKey.byteCount)
        XCTAssertEqual(Array(bytes[0..<16]), alice.bytes)
        XCTAssertEqual(bytes[16], CacheKey.Kind.toolCall.rawValue)
        XCTAssertEqual(Array(bytes[17...]), key.digest.bytes)
    }

    func testKeyRoundTripsThroughBytesAndHex() throws {
        let key = try XCTUnwrap(contentKey("hello", [("f", "{}")]))
        XCTAssertEqual(CacheKey(bytes: key.bytes), key)
        XCTAssertEqual(key.hex.count, 2 * CacheKey.byteCount)
        XCTAssertEqual(CacheKey(hex: key.hex), key)
        XCTAssertEqual(CacheKey(hex: key.hex.uppercased()), key)
        XCTAssertEqual(key.description, key.hex)
    }

    func testMalformedKeyBytesAreRejected() throws {
        let key = try XCTUnwrap(toolKey("call_1"))
        XCTAssertNil(CacheKey(bytes: key.bytes.dropLast()))
        var badKind = key.bytes
        badKind[16] = 0
        XCTAssertNil(CacheKey(bytes: badKind))
        XCTAssertNil(CacheKey(hex: "xyz"))
    }
}
