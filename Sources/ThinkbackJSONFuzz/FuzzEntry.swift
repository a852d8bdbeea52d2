import ThinkbackCore
#if canImport(Glibc)
import Glibc
#endif

#if THINKBACK_FUZZ
/// libFuzzer's entry point (built by `scripts/fuzz-json` with `-DTHINKBACK_FUZZ`; libFuzzer
/// supplies `main`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzChecks.run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
#else
/// Without the fuzzer: runs the same checks on the files named on the command line (to
/// reproduce a crash the fuzzer saved), so that a plain `swift build` links this target.
@main
enum ReproduceFuzzInputs {
    static func main() {
        for path in CommandLine.arguments.dropFirst() {
            guard let bytes = readFile(path) else {
                print("cannot read \(path)")
                continue
            }
            bytes.withUnsafeBytes { FuzzChecks.run($0) }
            print("ok \(path) (\(bytes.count) bytes)")
        }
    }

    static func readFile(_ path: String) -> [UInt8]? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&chunk, 1, chunk.count, file)
            if n <= 0 { break }
            bytes.append(contentsOf: chunk[..<n])
        }
        return bytes
    }
}
#endif
