import ThinkbackCore

extension Proxy {
    /// The scrape: what the proxy counts anyway, copied into the registry now, then the
    /// registry's exposition (`ProxyMetrics`).
    func metricsBody() -> [UInt8] {
        let m = metrics
        m.export(gauge: "thinkback_requests_in_flight", help: "Proxied requests not yet answered", value: Double(inFlight))
        m.export(gauge: "thinkback_streams_open", help: "Streams being relayed", value: Double(streaming))
        m.export(gauge: "thinkback_stream_queued_bytes", help: "Bytes queued for slow stream clients",
                 value: Double(server?.streamQueuedBytes ?? 0))
        m.export(counter: "thinkback_accept_pauses_total", help: "Times accepting paused at the descriptor limit",
                 value: server?.acceptPauses ?? 0)
        m.export(gauge: "thinkback_draining", help: "1 while shutting down", value: isDraining ? 1 : 0)

        let store = restorer.store.statistics
        let name = config.store.name
        let s = [("store", name)]
        m.export(gauge: "thinkback_store_up", help: "1 while the store works, 0 while degraded to memory (Redis down, disk full)",
                 labels: s, value: store.degraded ? 0 : 1)
        m.export(counter: "thinkback_store_errors_total", help: "Store operations that failed", labels: s, value: store.failures)
        m.export(gauge: "thinkback_cache_entries", help: "Captures the store holds", labels: s, value: Double(store.entries))
        m.export(gauge: "thinkback_cache_keys", help: "Keys the store holds", labels: s, value: Double(store.keys))
        m.export(gauge: "thinkback_cache_bytes", help: "Bytes the store's captures count against its bound", labels: s,
                 value: Double(store.bytes))
        m.export(counter: "thinkback_cache_evictions_total", help: "Captures evicted to stay within bounds", labels: s,
                 value: store.evictions)
        m.export(counter: "thinkback_cache_expirations_total", help: "Captures expired", labels: s, value: store.expirations)
        m.export(counter: "thinkback_cache_ambiguous_total", help: "Keys two different captures claimed", labels: s,
                 value: store.ambiguous)

        let c = restorer.counters
        for (kind, value) in [("context", c.hitsContext), ("tool_call_id", c.hitsToolCallID), ("content", c.hitsContent)] {
            m.export(counter: "thinkback_restore_hits_total", help: "Assistant messages restored, by the kind of key that found them",
                     labels: [("key", kind)], value: value)
        }
        m.export(counter: "thinkback_restore_misses_total", help: "Assistant messages whose reasoning was not cached", value: c.misses)
        for strategy in MissStrategy.allCases where strategy != .auto {
            m.export(counter: "thinkback_restore_fallbacks_total", help: "Misses handled, by strategy",
                     labels: [("strategy", strategy.rawValue)], value: c.fallbacks[strategy] ?? 0)
        }
        m.export(counter: "thinkback_auto_retries_total", help: "Requests auto retried with textualize after a refusal", value: c.autoRetries)
        m.export(counter: "thinkback_restore_rejected_total", help: "Requests answered 409 under --miss reject", value: c.rejected)
        m.export(counter: "thinkback_invalid_json_total", help: "Requests refused as invalid JSON", value: c.invalidJSON)
        m.export(counter: "thinkback_captures_total", help: "Answers captured", value: c.captured)
        m.export(counter: "thinkback_captures_skipped_total", help: "Answers not captured (unreadable, cut off, too large)",
                 value: c.captureSkipped)

        let g = restorer.gate.counters
        m.export(counter: "thinkback_commit_held_total", help: "Answers held for their capture's commit", value: g.held)
        m.export(counter: "thinkback_commit_timeouts_total", help: "Held answers released by --commit-timeout-ms", value: g.timeouts)
        m.export(counter: "thinkback_commit_failures_total", help: "Captures the store could not commit", value: g.failures)
        return m.scrape()
    }
}
