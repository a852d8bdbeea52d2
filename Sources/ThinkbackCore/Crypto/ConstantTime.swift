/// Comparisons of secrets whose time depends on the lengths only, never on where the bytes differ.
public enum ConstantTime {
    public static func equal(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
        let x = Array(a), y = Array(b)
        var diff = UInt8(x.count == y.count ? 0 : 1)
        for i in 0 ..< max(x.count, y.count) { diff |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0) }
        return diff == 0
    }
}
