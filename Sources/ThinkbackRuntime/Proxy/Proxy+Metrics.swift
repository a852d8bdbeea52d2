import ThinkbackCore

extension Proxy {
    /// This worker's levels and its store's view, on the board (before a status or a scrape is
    /// drawn, and every second).
    func publishLevels() {
        stats.store(.streamQueuedBytes, server?.streamQueuedBytes ?? 0)
        stats.mirror(.acceptPauses, server?.acceptPauses ?? 0)
        stats.store(.draining, isDraining ? 1 : 0)
        restorer.publishStatistics()
    }

    /// The lane of upstream `u` on the board (its index in the config).
    func lane(of u: UpstreamConfig) -> Int {
        config.upstreams.firstIndex { $0.name == u.name } ?? config.defaultUpstreamIndex
    }

    /// The scrape: every worker's counts, from the board (`PrometheusText`). What a request
    /// counts carries its upstream's name; the store, the commit gate and the levels are the
    /// process's.
    func metricsBody() -> [UInt8] {
        publishLevels()
        let t = stats.total()
        var m = PrometheusText()
        let lanes = config.upstreams.enumerated().map { ($0.offset, [("upstream", $0.element.name)]) }
        func perUpstream(_ name: String, _ help: String, _ value: (Int) -> Int) {
            m.metric(name, "counter", help, lanes.map { ($0.1, value($0.0)) })
        }

        m.family("thinkback_requests_total", "counter", "Requests answered, by route and status (codes outside a fixed list by class, 4xx)")
        for (lane, labels) in lanes {
            for (route, status, count) in t.requests(lane: lane) {
                m.sample("thinkback_requests_total", [("route", route.name), ("status", status)] + labels, String(count))
            }
        }
        perUpstream("thinkback_request_bytes_total", "Request body bytes received from clients") { t[.bytesIn, lane: $0] }
        perUpstream("thinkback_response_bytes_total", "Response body bytes sent to clients") { t[.bytesOut, lane: $0] }
        m.histogram("thinkback_upstream_first_byte_seconds", "From the request to the upstream answer's head (time to first byte)",
                    stats.firstByte, t, unitsPerSecond: 1000, lanes: lanes)
        m.histogram("thinkback_request_duration_seconds", "From the request to its last byte sent", stats.duration, t,
                    unitsPerSecond: 1000, lanes: lanes)
        m.histogram("thinkback_commit_wait_seconds", "How long an answer's last bytes waited for its capture's commit",
                    stats.commitWait, t, unitsPerSecond: 1_000_000)

        m.gauge("thinkback_workers", "Worker processes serving", [], max(1, t[.alive]))
        m.gauge("thinkback_requests_in_flight", "Proxied requests not yet answered", [], t[.inFlight])
        m.gauge("thinkback_streams_open", "Streams being relayed", [], t[.streaming])
        m.gauge("thinkback_stream_queued_bytes", "Bytes queued for slow stream clients", [], t[.streamQueuedBytes])
        m.counter("thinkback_accept_pauses_total", "Times accepting paused at the descriptor limit", [], t[.acceptPauses])
        m.gauge("thinkback_draining", "1 while shutting down", [], t[.draining] > 0 ? 1 : 0)

        let store = t.store
        let s = [("store", config.store.name)]
        m.gauge("thinkback_store_up", "1 while the store works, 0 while degraded to memory (Redis down, disk full)", s,
                store.degraded ? 0 : 1)
        m.counter("thinkback_store_errors_total", "Store operations that failed", s, store.failures)
        m.gauge("thinkback_cache_entries", "Captures the store holds", s, store.entries)
        m.gauge("thinkback_cache_keys", "Keys the store holds", s, store.keys)
        m.gauge("thinkback_cache_bytes", "Bytes the store's captures count against its bound", s, store.bytes)
        m.counter("thinkback_cache_evictions_total", "Captures evicted to stay within bounds", s, store.evictions)
        m.counter("thinkback_cache_expirations_total", "Captures expired", s, store.expirations)
        m.counter("thinkback_cache_ambiguous_total", "Keys two different captures claimed", s, store.ambiguous)

        m.metric("thinkback_restore_hits_total", "counter", "Assistant messages restored, by the kind of key that found them",
                 lanes.flatMap { lane, labels in
                     [([("key", "context")] + labels, t[.hitsContext, lane: lane]),
                      ([("key", "tool_call_id")] + labels, t[.hitsToolCallID, lane: lane]),
                      ([("key", "content")] + labels, t[.hitsContent, lane: lane])]
                 })
        perUpstream("thinkback_restore_misses_total", "Assistant messages whose reasoning was not cached") { t[.misses, lane: $0] }
        m.metric("thinkback_restore_fallbacks_total", "counter", "Misses handled, by strategy",
                 lanes.flatMap { lane, labels in
                     MissStrategy.allCases.filter { $0 != .auto }.map { ([("strategy", $0.rawValue)] + labels, t.fallbacks($0, lane: lane)) }
                 })
        perUpstream("thinkback_auto_retries_total", "Requests sent again after a refusal (auto)") { t[.autoRetries, lane: $0] }
        m.metric("thinkback_request_fixes_total", "counter", "Request fixes the upstream needed (hygiene), by kind",
                 lanes.flatMap { lane, labels in ChatHygiene.Fix.allCases.map { ([("fix", $0.rawValue)] + labels, t.fixes($0, lane: lane)) } })
        perUpstream("thinkback_restore_refused_dropped_total", "Restored messages the provider refused: their entries dropped") {
            t[.refusedDrops, lane: $0]
        }
        perUpstream("thinkback_tool_calls_rescued_total", "Tool calls found in the reasoning and made real (§9)") { t[.rescued, lane: $0] }
        perUpstream("thinkback_restore_rejected_total", "Requests answered 409 under --miss reject") { t[.rejected, lane: $0] }
        perUpstream("thinkback_invalid_json_total", "Requests refused as invalid JSON") { t[.invalidJSON, lane: $0] }
        perUpstream("thinkback_captures_total", "Answers captured") { t[.captured, lane: $0] }
        perUpstream("thinkback_captures_skipped_total", "Answers not captured (unreadable, cut off, too large)") { t[.captureSkipped, lane: $0] }

        m.counter("thinkback_commit_held_total", "Answers held for their capture's commit", [], t[.held])
        m.counter("thinkback_commit_timeouts_total", "Held answers released by --commit-timeout-ms", [], t[.timeouts])
        m.counter("thinkback_commit_failures_total", "Captures the store could not commit", [], t[.commitFailures])
        return m.bytes
    }

    /// One finished exchange, counted for `/metrics` in its upstream's lane.
    func recordRequest(route: Route, status: Int, bytesIn: Int, bytesOut: Int, firstByteMs: UInt64?, totalMs: UInt64, lane: Int? = nil) {
        let lane = lane ?? config.defaultUpstreamIndex
        stats.countRequest(route: route, status: status, lane: lane)
        if bytesIn > 0 { stats.add(.bytesIn, bytesIn, lane: lane) }
        if bytesOut > 0 { stats.add(.bytesOut, bytesOut, lane: lane) }
        if let firstByteMs { stats.record(stats.firstByte, firstByteMs, lane: lane) }
        stats.record(stats.duration, totalMs, lane: lane)
    }
}
