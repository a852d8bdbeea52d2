#if canImport(Glibc)
import Glibc
#endif

/// Byte-range helpers for the request path (the generic `elementsEqual` walks an iterator per
/// byte: ~200 instructions for a short JSON key).
enum RawBytes {
    /// Whether `a` and `b` hold the same bytes.
    @inline(__always)
    static func equal(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        guard a.count == b.count else { return false }
        guard let pa = a.baseAddress, let pb = b.baseAddress else { return true }   // both empty
        #if canImport(Glibc)
        return memcmp(pa, pb, a.count) == 0
        #else
        for i in 0 ..< a.count where a[i] != b[i] { return false }
        return true
        #endif
    }
}
