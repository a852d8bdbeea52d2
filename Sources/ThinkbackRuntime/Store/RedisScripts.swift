// The Redis store's two Lua scripts (EVAL: one round trip each, atomic between the thinkback
// processes sharing the server).
//
// Layout under PREFIX (`--redis-prefix`), tenant-scoped:
//   PREFIX<tenant hex>:<kind+digest hex>  → the entry key's name          (one per CacheKey, PX ttl)
//   PREFIX<tenant hex>:e:<unique hex>     → format(1) storedAt(8, BE) text (one per value, PX ttl)
//   PREFIX lru    sorted set: entry key → storedAt (oldest first: expiry and eviction order)
//   PREFIX sizes  hash: entry key → accounted bytes
//   PREFIX bytes  the sum of `sizes`: the budget (`--store-bytes`) is kept against it
// A value is stored once; its keys point at it. A key overwritten by a newer value keeps
// pointing at the newer one; a key whose value was evicted misses.
enum RedisScripts {
    /// KEYS: the pointer keys. Returns one bulk string (the value) or nil per key.
    static let lookup = """
        local out = {}
        for i, k in ipairs(KEYS) do
          local e = redis.call('GET', k)
          out[i] = (e and redis.call('GET', e)) or false
        end
        return out
        """

    /// KEYS: the pointer keys. ARGV: prefix, budget, ttl ms, now ms, px (ms left), entry key,
    /// accounted bytes, value, storedAt. Returns {entries, bytes, expired, evicted}.
    static let insert = """
        local lru, sizes, total = ARGV[1] .. 'lru', ARGV[1] .. 'sizes', ARGV[1] .. 'bytes'
        local budget, ttl, now, px = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
        local expired, evicted = 0, 0
        local function drop(e)
          redis.call('DECRBY', total, tonumber(redis.call('HGET', sizes, e) or '0'))
          redis.call('HDEL', sizes, e)
          redis.call('ZREM', lru, e)
          redis.call('DEL', e)
        end
        for _, e in ipairs(redis.call('ZRANGEBYSCORE', lru, '-inf', now - ttl, 'LIMIT', 0, 64)) do
          drop(e)
          expired = expired + 1
        end
        local entry, bytes = ARGV[6], tonumber(ARGV[7])
        redis.call('SET', entry, ARGV[8], 'PX', px)
        for _, k in ipairs(KEYS) do redis.call('SET', k, entry, 'PX', px) end
        redis.call('HSET', sizes, entry, bytes)
        redis.call('ZADD', lru, ARGV[9], entry)
        redis.call('INCRBY', total, bytes)
        while tonumber(redis.call('GET', total) or '0') > budget do
          local oldest = redis.call('ZRANGE', lru, 0, 0)[1]
          if not oldest or oldest == entry then break end
          drop(oldest)
          evicted = evicted + 1
        end
        return {redis.call('ZCARD', lru), tonumber(redis.call('GET', total) or '0'), expired, evicted}
        """
}
