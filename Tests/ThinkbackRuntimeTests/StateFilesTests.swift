import Foundation
import XCTest
@testable import ThinkbackRuntime

/// The tenant secret under `--state-dir`: one per directory, whoever creates it.
final class StateFilesTests: XCTestCase {
    private var directory = TemporaryDirectory()

    override func tearDown() { directory.remove() }

    /// What the racing threads got.
    private final class Results: @unchecked Sendable {
        private let lock = NSLock()
        private var secrets: [[UInt8]] = []
        private var errors: [String] = []

        func add(_ result: Result<[UInt8], Error>) {
            lock.lock()
            defer { lock.unlock() }
            switch result {
            case .success(let secret): secrets.append(secret)
            case .failure(let error): errors.append("\(error)")
            }
        }

        var all: (secrets: [[UInt8]], errors: [String]) {
            lock.lock()
            defer { lock.unlock() }
            return (secrets, errors)
        }
    }

    /// Threads stand in for processes here: the file system does not tell them apart, and a
    /// semaphore releases them within microseconds of each other, which processes cannot be.
    func testThreadsRacingOnFreshDirectoriesAllGetOneCompleteSecret() throws {
        for round in 0..<100 {
            let fresh = directory.path + "/\(round)"
            try FileManager.default.createDirectory(atPath: fresh, withIntermediateDirectories: false)
            let start = DispatchSemaphore(value: 0)
            let finished = DispatchGroup()
            let results = Results()
            for _ in 0..<6 {
                finished.enter()
                Thread {
                    start.wait()
                    results.add(Result { try StateFiles.tenantSecret(directory: fresh) })
                    finished.leave()
                }.start()
            }
            for _ in 0..<6 { start.signal() }
            finished.wait()
            let (secrets, errors) = results.all
            XCTAssertEqual(errors, [], "round \(round)")
            XCTAssertEqual(secrets.count, 6)
            XCTAssertEqual(Set(secrets).count, 1, "round \(round): one secret for all")
            XCTAssertEqual(secrets.first?.count, 32)
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: fresh), ["tenant.key"], "round \(round)")
            guard errors.isEmpty else { break }
        }
    }

    func testAnExistingSecretIsKept() throws {
        let first = try StateFiles.tenantSecret(directory: directory.path)
        XCTAssertEqual(try StateFiles.tenantSecret(directory: directory.path), first)
    }

    func testAFileAnOlderVersionIsStillWritingIsReadAgainUntilComplete() throws {
        let path = directory.path + "/tenant.key"
        // An older thinkback created the file and has not written it yet.
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(), attributes: [.posixPermissions: 0o600]))
        let secret = [UInt8](repeating: 7, count: 32)
        Thread {
            usleep(100_000)
            try? Data(secret).write(to: URL(fileURLWithPath: path))
        }.start()
        XCTAssertEqual(try StateFiles.tenantSecret(directory: directory.path), secret)
    }

    func testAFileThatStaysShortIsRefused() throws {
        let path = directory.path + "/tenant.key"
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data([1, 2, 3])))
        XCTAssertThrowsError(try StateFiles.tenantSecret(directory: directory.path)) { error in
            XCTAssertTrue("\(error)".contains("shorter than 32 bytes"), "\(error)")
        }
    }
}
