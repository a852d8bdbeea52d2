import ThinkbackCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    return 0
}

#if !THINKBACK_FUZZ
@main
struct Reproduce {
    static func main() {
        print(ThinkbackVersion.string)
    }
}
#endif
