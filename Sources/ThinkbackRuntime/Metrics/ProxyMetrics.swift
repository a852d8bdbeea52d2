import CoreMetrics
import Prometheus
import ThinkbackCore

/// `GET /metrics` (issue 20): the Prometheus text format, from swift-prometheus's registry.
///
/// What each request adds is a few handles looked up in a dictionary and atomics bumped (the
/// handles are made once per route and status); what the proxy already counts — the cache, the
/// restore counters, the commit gate, streams open — is copied into the registry when a scrape
/// comes, so the loop pays nothing for it between scrapes. Labels are bounded: routes are
/// thinkback's own names, statuses are HTTP codes, key kinds and strategies are fixed sets, and
/// `upstream` is the configured upstream's name.
final class ProxyMetrics {
    let registry = PrometheusCollectorRegistry()
    private let upstream: String
    private var requests: [RequestLabel: Prometheus.Counter] = [:]
    private let bytesIn: Prometheus.Counter
    private let bytesOut: Prometheus.Counter
    private let firstByte: DurationHistogram
    private let total: DurationHistogram
    private let commitWait: DurationHistogram
    /// Monotonic counts kept elsewhere, exported as counters: the last value sent per series.
    private var exported: [String: Int] = [:]

    private struct RequestLabel: Hashable {
        var route: String
        var status: Int
    }

    static let latencyBuckets: [Duration] = [
        .milliseconds(5), .milliseconds(25), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30), .seconds(60), .seconds(120), .seconds(300),
    ]
    static let commitBuckets: [Duration] = [
        .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
        .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(200),
    ]

    private static func name(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    init(upstream: String) {
        self.upstream = upstream
        let u = [("upstream", upstream)]
        bytesIn = registry.makeCounter(descriptor: Self.name("thinkback_request_bytes_total", "Request body bytes received from clients"), labels: u)
        bytesOut = registry.makeCounter(descriptor: Self.name("thinkback_response_bytes_total", "Response body bytes sent to clients"), labels: u)
        firstByte = registry.makeDurationHistogram(
            descriptor: Self.name("thinkback_upstream_first_byte_seconds", "From the request to the upstream answer's head (time to first byte)"),
            labels: u, buckets: Self.latencyBuckets)
        total = registry.makeDurationHistogram(
            descriptor: Self.name("thinkback_request_duration_seconds", "From the request to its last byte sent"),
            labels: u, buckets: Self.latencyBuckets)
        commitWait = registry.makeDurationHistogram(
            descriptor: Self.name("thinkback_commit_wait_seconds", "How long an answer's last bytes waited for its capture's commit"),
            labels: u, buckets: Self.commitBuckets)
    }

    /// One finished exchange.
    func recordRequest(route: String, status: Int, bytesIn: Int, bytesOut: Int, firstByteMs: UInt64?, totalMs: UInt64) {
        let label = RequestLabel(route: route, status: status)
        let counter = requests[label] ?? {
            let c = registry.makeCounter(
                descriptor: Self.name("thinkback_requests_total", "Requests answered, by route and status"),
                labels: [("route", route), ("status", String(status)), ("upstream", upstream)])
            requests[label] = c
            return c
        }()
        counter.increment(by: Int64(1))
        if bytesIn > 0 { self.bytesIn.increment(by: Int64(bytesIn)) }
        if bytesOut > 0 { self.bytesOut.increment(by: Int64(bytesOut)) }
        if let firstByteMs { firstByte.record(.milliseconds(Int64(firstByteMs))) }
        total.record(.milliseconds(Int64(totalMs)))
    }

    func recordCommitWait(milliseconds: UInt64) {
        commitWait.record(.milliseconds(Int64(milliseconds)))
    }

    /// A count kept elsewhere, as a counter (it only grows; a drop — a store reopened — is
    /// ignored until it passes the last value).
    func export(counter name: String, help: String, labels: [(String, String)] = [], value: Int) {
        // At scrape time only: the registry hands back the collector it made for these labels.
        // Made (at 0) even before it counts anything, so the series is there for queries.
        let counter = registry.makeCounter(descriptor: Self.name(name, help), labels: labels + [("upstream", upstream)])
        let key = name + labels.map { "|\($0.0)=\($0.1)" }.joined()
        let last = exported[key] ?? 0
        guard value > last else { return }
        counter.increment(by: Int64(value - last))
        exported[key] = value
    }

    /// A level kept elsewhere, as a gauge.
    func export(gauge name: String, help: String, labels: [(String, String)] = [], value: Double) {
        registry.makeGauge(descriptor: Self.name(name, help), labels: labels + [("upstream", upstream)]).set(to: value)
    }

    /// The exposition.
    func scrape() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(16 << 10)
        registry.emit(into: &out)
        return out
    }
}
