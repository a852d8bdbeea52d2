import ThinkbackCore

/// `GET /metrics` (issue 20): the Prometheus text format (version 0.0.4), written from the
/// `StatsBoard`, so one scrape of any worker counts every worker.
///
/// Why not swift-prometheus's registry, which an earlier version used: its counters and
/// histograms live in the memory of the process that bumps them, and a scrape reaches one worker
/// of N. Summing across processes needs the values in memory they share, and a histogram cannot
/// be loaded into that registry from bucket counts; so the board keeps the values and this
/// writes the exposition (a few dozen lines of format, no dependency).
///
/// Labels are bounded: routes are thinkback's own names, statuses a fixed list of HTTP codes
/// (others by class), key kinds, strategies and fixes fixed sets, `upstream` a configured
/// upstream's name.
struct PrometheusText {
    private(set) var bytes: [UInt8] = []

    init() {
        bytes.reserveCapacity(16 << 10)
    }

    /// `# HELP` and `# TYPE` of a family.
    mutating func family(_ name: String, _ type: String, _ help: String) {
        bytes.append(contentsOf: "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n".utf8)
    }

    /// One sample.
    mutating func sample(_ name: String, _ labels: [(String, String)] = [], _ value: String) {
        bytes.append(contentsOf: name.utf8)
        if !labels.isEmpty { bytes.append(UInt8(ascii: "{")) }
        for (k, v) in labels {
            if bytes.last != UInt8(ascii: "{") { bytes.append(UInt8(ascii: ",")) }
            bytes.append(contentsOf: k.utf8)
            bytes.append(contentsOf: "=\"".utf8)
            for b in v.utf8 {
                switch b {
                case UInt8(ascii: "\\"): bytes.append(contentsOf: "\\\\".utf8)
                case UInt8(ascii: "\""): bytes.append(contentsOf: "\\\"".utf8)
                case UInt8(ascii: "\n"): bytes.append(contentsOf: "\\n".utf8)
                default: bytes.append(b)
                }
            }
            bytes.append(UInt8(ascii: "\""))
        }
        if !labels.isEmpty { bytes.append(UInt8(ascii: "}")) }
        bytes.append(UInt8(ascii: " "))
        bytes.append(contentsOf: value.utf8)
        bytes.append(UInt8(ascii: "\n"))
    }

    /// A family of one counter or gauge per label set.
    mutating func metric(_ name: String, _ type: String, _ help: String, _ samples: [([(String, String)], Int)]) {
        family(name, type, help)
        for (labels, value) in samples { sample(name, labels, String(value)) }
    }

    mutating func counter(_ name: String, _ help: String, _ labels: [(String, String)] = [], _ value: Int) {
        metric(name, "counter", help, [(labels, value)])
    }

    mutating func gauge(_ name: String, _ help: String, _ labels: [(String, String)] = [], _ value: Int) {
        metric(name, "gauge", help, [(labels, value)])
    }

    /// A histogram in seconds from the board's cells, whose unit is `unitsPerSecond`: one
    /// series per label set in `lanes` (a lane and its labels), or the board's own (nil).
    mutating func histogram(_ name: String, _ help: String, _ h: StatsBoard.Histogram, _ t: StatsBoard.Totals,
                            unitsPerSecond: Double, lanes: [(Int, [(String, String)])]? = nil) {
        family(name, "histogram", help)
        for (lane, labels) in lanes.map({ $0.map { (Optional($0.0), $0.1) } }) ?? [(nil, [])] {
            let (buckets, sum, count) = t.histogram(h, lane: lane)
            for (i, n) in buckets.enumerated() {
                let le = i < h.bounds.count ? Self.number(Double(h.bounds[i]) / unitsPerSecond) : "+Inf"
                sample(name + "_bucket", labels + [("le", le)], String(n))
            }
            sample(name + "_sum", labels, Self.number(Double(sum) / unitsPerSecond))
            sample(name + "_count", labels, String(count))
        }
    }

    /// A float as Prometheus reads it (`0.005`, `2.5`, `300.0`; Go's ParseFloat takes `1e-05` too).
    static func number(_ x: Double) -> String { "\(x)" }
}
