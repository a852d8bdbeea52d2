/// `withUnsafeBytes` for byte arrays, keeping the body's typed error (the standard library's
/// version is `rethrows`, which erases it).
@inline(__always)
func withRawBytes<R, E: Error>(_ bytes: [UInt8], _ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
    let result: Result<R, E> = bytes.withUnsafeBytes { raw in
        do throws(E) { return .success(try body(raw)) } catch { return .failure(error) }
    }
    return try result.get()
}
