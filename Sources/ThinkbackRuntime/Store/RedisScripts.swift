// The Redis store's two Lua scripts (EVAL: one round trip each, atomic between the thinkback
// processes sharing the server).
//
// Layout under PREFIX (`--redis-prefix`), tenant-scoped:
//   PREFIX<tenant hex>:<kind+digest hex>  → the entry key's name, or the marker (one per CacheKey, PX ttl)
//   PREFIX<tenant hex>:e:<unique hex>     → format(1) storedAt(8, BE) text (one per value, PX ttl)
//   PREFIX lru    sorted set: entry key → storedAt (oldest first: expiry and eviction order)
//   PREFIX sizes  hash: entry key → accounted bytes
//   PREFIX bytes  the sum of `sizes`: the budget (`--store-bytes`) is kept against it
// A value is stored once; its keys point at it. A key that two different values claim holds
// the ambiguity marker instead of an entry's name: `~` followed by a value's first nine bytes
// with format 255 (`ReasoningFormat.ambiguous`) and no text, ten bytes in all — never an entry
// name, which is longer. Whether a value or a marker is still live is decided by its storedAt
// and the ttl against the caller's clock (`now`), as the Swift side does.
enum RedisScripts {
    /// One step of `clear` (`POST /admin/cache/clear`). ARGV: prefix, MATCH pattern, cursor,
    /// count. Deletes the matching pointer and entry keys one SCAN page at a time (an entry's
    /// size leaves the budget with it); returns {next cursor, entries dropped, bytes left}.
    static let clearStep = """
        local lru, sizes, total = ARGV[1] .. 'lru', ARGV[1] .. 'sizes', ARGV[1] .. 'bytes'
        local r = redis.call('SCAN', ARGV[3], 'MATCH', ARGV[2], 'COUNT', tonumber(ARGV[4]))
        local dropped = 0
        for _, k in ipairs(r[2]) do
          if k ~= lru and k ~= sizes and k ~= total then
            if string.find(k, ':e:', #ARGV[1] + 1, true) then
              redis.call('DECRBY', total, tonumber(redis.call('HGET', sizes, k) or '0'))
              redis.call('HDEL', sizes, k)
              redis.call('ZREM', lru, k)
              dropped = dropped + 1
            end
            redis.call('DEL', k)
          end
        end
        return {r[1], dropped, tonumber(redis.call('GET', total) or '0')}
        """

    /// KEYS: the pointer keys. Returns one bulk string per key (the value, or for a marker its
    /// nine bytes) or nil.
    static let lookup = """
        local out = {}
        for i, k in ipairs(KEYS) do
          local p = redis.call('GET', k)
          if p and #p == 10 and string.byte(p, 1) == 126 then
            out[i] = string.sub(p, 2)
          else
            out[i] = (p and redis.call('GET', p)) or false
          end
        end
        return out
        """

    /// KEYS: the pointer keys. ARGV: prefix, budget, ttl ms, now ms, px (ms left), entry key,
    /// bytes of the entry without keys, bytes per key, value, storedAt. Applies the insert
    /// rule of `ReasoningStore.insert` key by key. Returns {entries, bytes, expired, evicted,
    /// {indexes (from 1) of the keys it made ambiguous}}.
    static let insert = """
        local lru, sizes, total = ARGV[1] .. 'lru', ARGV[1] .. 'sizes', ARGV[1] .. 'bytes'
        local budget, ttl, now, px = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
        local entry, value = ARGV[6], ARGV[9]
        local expired, evicted = 0, 0
        local function drop(e)
          redis.call('DECRBY', total, tonumber(redis.call('HGET', sizes, e) or '0'))
          redis.call('HDEL', sizes, e)
          redis.call('ZREM', lru, e)
          redis.call('DEL', e)
        end
        local function live(v)
          local t = 0
          for i = 2, 9 do t = t * 256 + string.byte(v, i) end
          return t + ttl > now
        end
        for _, e in ipairs(redis.call('ZRANGEBYSCORE', lru, '-inf', now - ttl, 'LIMIT', 0, 64)) do
          drop(e)
          expired = expired + 1
        end
        local marker = '~' .. string.char(255) .. string.sub(value, 2, 9)
        local isMarker = string.byte(value, 1) == 255
        local claimed, ambiguous = 0, {}
        for i, k in ipairs(KEYS) do
          local p = redis.call('GET', k)
          local held = false
          if p and #p == 10 and string.byte(p, 1) == 126 then
            if live(string.sub(p, 2)) then held = 'marker' end
          elseif p then
            local v = redis.call('GET', p)
            if v and #v >= 9 and live(v) then
              if string.byte(v, 1) == string.byte(value, 1) and #v == #value and string.sub(v, 10) == string.sub(value, 10) then
                held = 'same'
              else
                held = 'different'
              end
            end
          end
          if held == 'marker' then
            redis.call('SET', k, marker, 'PX', px)
          elseif isMarker or held == 'different' then
            redis.call('SET', k, marker, 'PX', px)
            ambiguous[#ambiguous + 1] = i
          else
            redis.call('SET', k, entry, 'PX', px)
            claimed = claimed + 1
          end
        end
        if claimed > 0 then
          local bytes = tonumber(ARGV[7]) + claimed * tonumber(ARGV[8])
          redis.call('SET', entry, value, 'PX', px)
          redis.call('HSET', sizes, entry, bytes)
          redis.call('ZADD', lru, ARGV[10], entry)
          redis.call('INCRBY', total, bytes)
          while tonumber(redis.call('GET', total) or '0') > budget do
            local oldest = redis.call('ZRANGE', lru, 0, 0)[1]
            if not oldest or oldest == entry then break end
            drop(oldest)
            evicted = evicted + 1
          end
        end
        return {redis.call('ZCARD', lru), tonumber(redis.call('GET', total) or '0'), expired, evicted, ambiguous}
        """
}
