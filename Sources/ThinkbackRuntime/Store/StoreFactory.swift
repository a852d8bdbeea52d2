import Logging
import ThinkbackCore

/// Makes the store `--store` names (product.md §5): memory alone, or the in-memory hot tier in
/// front of SQLite or Redis.
enum StoreFactory {
    /// `workers`: the processes sharing the store; each hot tier gets its share of
    /// `--cache-entries` and `--cache-bytes`, so that they bound the memory of all of them.
    static func make(config: Config, loop: EventLoop, logger: Logger, workers: Int = 1,
                     stateDirectory: () throws -> String) throws -> any ReasoningStore {
        let hot = MemoryStore(limits: hotLimits(config.cacheLimits, workers: workers))
        let ttl = config.cacheLimits.timeToLiveMilliseconds
        if workers > 1 {
            logger.info("hot tier: this worker's share", metadata: [
                "entries": "\(hot.limits.maxEntries)", "bytes": "\(hot.limits.maxBytes)", "workers": "\(workers)"])
        }
        switch config.store {
        case .memory:
            return hot
        case .sqlite(let flagPath):
            let path = try flagPath ?? (stateDirectory() + "/" + StoreChoice.defaultSQLiteFileName)
            let cold = try SQLiteStore(path: path, limits: SQLiteStore.limits(fileBytes: config.storeBytes, timeToLiveMilliseconds: ttl), loop: loop)
            cold.onHealthChange = { failing, reason in
                if failing {
                    logger.warning("sqlite store failing: serving from memory until it recovers", metadata: ["error": "\(reason)"])
                } else {
                    logger.notice("sqlite store recovered")
                }
            }
            logger.info("store: sqlite", metadata: ["entries": "\(cold.statistics.entries)", "bytes": "\(cold.statistics.bytes)"])
            return TieredStore(hot: hot, cold: cold)
        case .redis(let host, let port, let database):
            let options = RedisStore.Options(host: host, port: port, database: database, prefix: config.redisPrefix,
                                             timeoutMs: UInt64(config.redisTimeoutMs))
            let cold = RedisStore(options: options, limits: RedisStore.limits(memoryBytes: config.storeBytes, timeToLiveMilliseconds: ttl), loop: loop)
            cold.onHealthChange = { failing, reason in
                if failing {
                    logger.warning("redis store failing: serving from memory, reconnecting", metadata: ["error": "\(reason)"])
                } else {
                    logger.notice("redis store reachable again")
                }
            }
            return TieredStore(hot: hot, cold: cold)
        }
    }

    /// One worker's share of the hot tier's bounds (at least one entry, one megabyte).
    static func hotLimits(_ limits: StoreLimits, workers: Int) -> StoreLimits {
        guard workers > 1 else { return limits }
        var share = limits
        share.maxEntries = max(1, limits.maxEntries / workers)
        share.maxBytes = max(1 << 20, limits.maxBytes / workers)
        return share
    }
}

extension Proxy {
    /// Writes out what the store still holds (SQLite's pending batch) and the access lines
    /// not yet written. Call once the loop has stopped, before the process exits.
    public func closeStore() {
        accessLog?.flush()
        restorer.store.flush()
    }
}
