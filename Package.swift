// swift-tools-version:6.0
import PackageDescription

let logging = Target.Dependency.product(name: "Logging", package: "swift-log")

let package = Package(
    name: "thinkback",
    products: [
        .executable(name: "thinkback", targets: ["thinkback"]),
        .executable(name: "thinkback-sim", targets: ["thinkback-sim"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        // thinkback's command line: generated --help, validation messages (issue 20).
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // C glue: evhttp server, curl_multi <-> libevent, typed curl setters, hiredis on the loop,
        // libcrypto's SHA-256 block function. No product logic.
        .target(
            name: "CLibEvent",
            path: "CLibEvent",
            linkerSettings: [.linkedLibrary("event"), .linkedLibrary("curl"), .linkedLibrary("hiredis"), .linkedLibrary("crypto")]
        ),
        // SQLite's C API (system library, pkg-config sqlite3): the default store.
        .systemLibrary(name: "CSQLite", path: "CSQLite", pkgConfig: "sqlite3"),
        // Header only: the vector byte classification the JSON scanner inlines (pmovmskb).
        .systemLibrary(name: "CByteClass"),
        // Pure: bytes in, decisions out. No I/O.
        .target(name: "ThinkbackCore", dependencies: ["CByteClass"]),
        // The loop: server, upstream client, routing, stores, config, logs.
        .target(name: "ThinkbackRuntime", dependencies: [
            "CLibEvent", "CSQLite", "ThinkbackCore", logging,
        ]),
        .executableTarget(name: "thinkback", dependencies: [
            "ThinkbackRuntime", "ThinkbackCore", logging, .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // The simulator's scripted model, rules and fidelity ledger (pure).
        .target(name: "ThinkbackSimCore", dependencies: ["ThinkbackCore"], exclude: ["KNOBS.md"]),
        .executableTarget(
            name: "thinkback-sim",
            dependencies: ["ThinkbackRuntime", "ThinkbackSimCore", "ThinkbackCore", logging]
        ),
        // libFuzzer entry for the JSON/SSE parsers: `scripts/fuzz-json` (built with -DTHINKBACK_FUZZ).
        .executableTarget(name: "ThinkbackJSONFuzz", dependencies: ["ThinkbackCore"]),
        // What several test targets share: the store conformance suite every store must pass.
        .target(name: "ThinkbackTestSupport", dependencies: ["ThinkbackCore", "ThinkbackSimCore"], path: "Tests/ThinkbackTestSupport"),
        .testTarget(name: "ThinkbackCoreTests", dependencies: ["ThinkbackCore", "ThinkbackTestSupport"]),
        .testTarget(name: "ThinkbackSimCoreTests", dependencies: ["ThinkbackSimCore"]),
        .testTarget(name: "ThinkbackRuntimeTests", dependencies: ["ThinkbackRuntime", "ThinkbackCore", "ThinkbackTestSupport"]),
    ]
)
