#ifndef CLIBEVENT_H
#define CLIBEVENT_H

// thinkback's C shim: glue between libevent (evhttp server, events, timers), libcurl's
// curl_multi socket API and Swift. No product logic lives here: bytes and callbacks only.
//
// Threading: every function here must be called on the thread that runs the loop.
// Exactly-once contracts (also in README.md):
// - every inbound request (cle_exchange) ends in exactly one reply, or in one `gone` callback;
// - every started transfer ends in exactly one `done` callback, unless it was aborted;
// - a byte pointer handed to a callback is valid only during that callback.

#include <stddef.h>
#include <stdint.h>
#include <event2/event.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <curl/curl.h>
#include <hiredis/hiredis.h>

#pragma clang assume_nonnull begin

// MARK: - The loop: one event_base and one curl multi handle driven by it

typedef struct cle_loop cle_loop;

/// A plain callback with the owner's context pointer.
typedef void (*cle_callback)(void *_Nullable ctx);

/// Creates the event base (epoll changelist on) and the curl multi handle, and ignores
/// SIGPIPE process-wide (curl runs with CURLOPT_NOSIGNAL). NULL on failure.
cle_loop *_Nullable cle_loop_new(void);
/// Runs until cle_loop_break or until nothing is left to wait for. Returns 0 or -1.
int cle_loop_run(cle_loop *loop);
/// Makes cle_loop_run return after the current callback.
void cle_loop_break(cle_loop *loop);
/// Frees the loop. All transfers, servers and timers must be gone first.
void cle_loop_free(cle_loop *loop);
struct event_base *cle_loop_base(cle_loop *loop);
/// Transfers currently added to the multi handle.
int cle_loop_running_transfers(cle_loop *loop);
/// Monotonic milliseconds (CLOCK_MONOTONIC, a vDSO call): for durations and deadlines only,
/// never for times stored or compared across processes (those are wall-clock, StoreClock).
uint64_t cle_loop_now_ms(cle_loop *loop);

/// Fault injection for tests: with THINKBACK_FAILPOINTS="name:N,…" in the environment (read
/// when the first loop is made) the named allocation fails from its Nth call on. 1: fail now.
/// Costs a load and a branch when none is set.
int cle_failpoint_hit(const char *name);

/// Sets the calling thread's nice value (Linux: per thread). For helper threads whose work
/// must not hold up the loop's on a shared core. Returns 0 or -1.
int cle_thread_set_nice(int nice);

// MARK: - Timers and signals (for Swift owners: retries, deadlines, shutdown)

typedef struct cle_timer cle_timer;
/// A one-shot timer calling `cb(ctx)`. The caller owns it: cle_timer_free.
cle_timer *_Nullable cle_timer_new(cle_loop *loop, cle_callback cb, void *_Nullable ctx);
/// (Re)arms the timer. 0 ms runs it in the current loop pass (made active, not a 1 ms sleep).
void cle_timer_arm(cle_timer *timer, uint64_t ms);
void cle_timer_cancel(cle_timer *timer);
void cle_timer_free(cle_timer *timer);
/// Sets the context passed to the callback (for owners that exist only after the timer).
void cle_timer_set_context(cle_timer *timer, void *_Nullable ctx);

typedef struct cle_signal cle_signal;
/// Delivers `signo` on the loop thread as `cb(ctx)`. The caller owns it: cle_signal_free.
cle_signal *_Nullable cle_signal_new(cle_loop *loop, int signo, cle_callback cb, void *_Nullable ctx);
void cle_signal_free(cle_signal *sig);
void cle_signal_set_context(cle_signal *sig, void *_Nullable ctx);

// MARK: - Inbound server (evhttp)

typedef struct cle_server cle_server;
typedef struct cle_exchange cle_exchange;

/// Called once per complete inbound request. The exchange belongs to the shim; the handler
/// must eventually answer it (cle_exchange_reply / cle_exchange_stream_*), unless `gone` fires.
typedef void (*cle_request_handler)(cle_exchange *exchange, void *_Nullable ctx);

typedef struct cle_server_options {
    const char *address;
    uint16_t port;              // 0: pick a free port (read it back with cle_server_port)
    int64_t max_body_bytes;     // larger bodies get 413 from evhttp
    int64_t max_header_bytes;   // larger headers get 400 from evhttp
    int idle_timeout_seconds;   // keep-alive and read timeout of client connections
    int header_timeout_seconds; // a request head, at most (from the accept for a connection's
                                // first, from its first byte for later ones); 0: none
    int body_timeout_seconds;   // a request body, at most between two reads; 0: none
    // The body of the 400 sent for a request refused before evhttp could hand it over (a NUL
    // in its head, bad chunked framing); copied.
    const uint8_t *_Nullable reject_body;
    size_t reject_body_len;
    // Called (with the server's context) when accept() failed, e.g. at the descriptor limit:
    // accepting pauses for 100 ms, then resumes. May be NULL.
    cle_callback _Nullable on_accept_paused;
    // >= 0: serve this listening socket (systemd socket activation) instead of binding
    // address:port.
    int listen_fd;
} cle_server_options;

/// A TCP socket on host:port with SO_REUSEPORT (and SO_REUSEADDR, TCP_NODELAY), listening when
/// `do_listen` (else only bound: a port reserved for the workers to share). Its port in
/// `bound_port` (for port 0). -1 on failure, with a message in `err`.
int cle_tcp_socket(const char *host, uint16_t port, int do_listen, int backlog, uint16_t *_Nullable bound_port,
                   char *err, size_t err_len);

/// Zeroed memory `bytes` long that processes forked after this call share (an anonymous
/// shared mapping: the --workers counters). NULL on failure.
void *_Nullable cle_shared_map(size_t bytes);

/// The cores this process may run on (its CPU affinity); 0 if unknown.
int cle_cpus_allowed(void);

/// Relaxed atomic access to one 64-bit cell of shared memory: another process may read or
/// write it at the same time (no tearing, no ordering promised).
static inline uint64_t cle_cell_load(const uint64_t *cell) { return __atomic_load_n(cell, __ATOMIC_RELAXED); }
static inline void cle_cell_store(uint64_t *cell, uint64_t value) { __atomic_store_n(cell, value, __ATOMIC_RELAXED); }
static inline uint64_t cle_cell_add(uint64_t *cell, uint64_t n) { return __atomic_add_fetch(cell, n, __ATOMIC_RELAXED); }

/// Binds and starts serving. NULL on failure, with a message in `err`.
cle_server *_Nullable cle_server_new(cle_loop *loop, const cle_server_options *options,
                                     cle_request_handler handler, void *_Nullable ctx,
                                     char *err, size_t err_len);
uint16_t cle_server_port(const cle_server *server);
/// Requests whose reply has not yet fully reached the client's socket (drain waits for 0).
unsigned cle_server_unfinished(const cle_server *server);
/// Times accepting paused after a failed accept() (at the descriptor limit).
unsigned cle_server_accept_pauses(const cle_server *server);
/// Stream bytes queued for all clients and not yet written to their sockets.
size_t cle_server_stream_queued_bytes(const cle_server *server);
/// Bytes of already-buffered request data copied again by the read-ahead of this thread's
/// servers, since the thread began (a diagnostic: uploads must cost linear work).
uint64_t cle_read_ahead_copied_bytes(void);
/// Stops accepting new connections (drain); open connections keep being served.
void cle_server_stop_listening(cle_server *server);
/// Frees the server and closes every connection.
void cle_server_free(cle_server *server);

// MARK: - One inbound request and its reply

/// evhttp's command type (EVHTTP_REQ_GET, ...).
int cle_exchange_method(const cle_exchange *x);
/// The request target as sent (path and query).
const char *cle_exchange_uri(const cle_exchange *x);
/// Case-insensitive header lookup; valid until the reply. NULL when absent.
const char *_Nullable cle_exchange_header(const cle_exchange *x, const char *name);
/// Iterates request headers: pass NULL to start; returns NULL at the end.
const struct evkeyval *_Nullable cle_exchange_next_header(const cle_exchange *x,
                                                          const struct evkeyval *_Nullable prev);
const char *cle_header_key(const struct evkeyval *kv);
const char *cle_header_value(const struct evkeyval *kv);
/// The request body as one contiguous block (pulled up once; owned by the exchange,
/// valid until the reply). `*len` receives its length.
const uint8_t *_Nullable cle_exchange_body(cle_exchange *x, size_t *len);
/// Frees the request body and headers, and the response headers once sent (all but
/// Connection, which evhttp reads when the reply ends), while the reply goes on: a long
/// stream need not hold them. Earlier body pointers and header strings become invalid; the
/// body reads as empty and the headers as absent afterwards.
void cle_exchange_release_request(cle_exchange *x);

/// Adds a response header. Call before the reply or the stream start.
void cle_exchange_add_header(cle_exchange *x, const char *name, const char *value);

/// Sends a complete reply with `body` (copied). The exchange is finished: do not use it again.
void cle_exchange_reply(cle_exchange *x, int status, const uint8_t *_Nullable body, size_t len);
/// Sends a complete reply whose body is `body`'s content (moved, not copied; `body` is left
/// empty and still owned by the caller). The exchange is finished.
void cle_exchange_reply_buffer(cle_exchange *x, int status, struct evbuffer *body);

/// Starts a chunked reply (for SSE). What is queued for the client and not yet written to its
/// socket is bounded twice: `slots` chunks and `max_bytes` bytes (a high watermark: the chunk
/// that crosses it is still taken). Once the ring was full and drains back to `low_mark`
/// chunks and a quarter of `max_bytes`, `on_drain(ctx)` runs in a later loop pass.
void cle_exchange_stream_start(cle_exchange *x, int status, unsigned slots, unsigned low_mark,
                               size_t max_bytes, cle_callback on_drain);
/// 1 when the ring is full (every slot taken, or the byte bound reached): the caller must pause.
int cle_exchange_stream_full(const cle_exchange *x);
/// Chunks queued and not yet written to the client.
unsigned cle_exchange_stream_queued(const cle_exchange *x);
/// Bytes queued and not yet written to the client.
size_t cle_exchange_stream_queued_bytes(const cle_exchange *x);
/// 0 when a cle_exchange_stream_write made now would be taken (room is made as that write
/// would make it); -1 when the ring is full (the drain callback is owed, as for a refused
/// write) or the client is gone. Queues nothing.
int cle_exchange_stream_reserve(cle_exchange *x);
/// Copies `len` bytes once into a free slot and queues them to the client by reference.
/// Returns 0, or -1 when the ring is full (nothing was taken) or the client is gone.
int cle_exchange_stream_write(cle_exchange *x, const uint8_t *data, size_t len);
/// Ends the chunked reply. The exchange is finished: do not use it again.
void cle_exchange_stream_end(cle_exchange *x);

/// Drops the client's connection without completing the reply (fault injection, or a
/// reply that cannot be finished). The exchange is finished: do not use it again.
void cle_exchange_abort(cle_exchange *x);

/// Watches for the client going away before the reply is complete. `on_gone(ctx)` fires at
/// most once; after it the shim has released the request and the exchange must not be used.
void cle_exchange_watch(cle_exchange *x, cle_callback on_gone, void *_Nullable ctx);

// MARK: - A request's framing (a pure parser the server runs ahead of evhttp)

enum {
    CLE_FRAMING_HEAD = 0,       // reading the head
    CLE_FRAMING_BODY,           // the head ended; a chunked body is being checked
    CLE_FRAMING_DONE,           // a chunked body ended: later bytes are the next request's
    CLE_FRAMING_BAD_BODY        // chunked framing that is not exactly RFC 9112 §7.1's
};

/// One request's framing state; zeroed (cle_framing_start) before each request.
typedef struct cle_framing {
    uint64_t chunk_left;        // the chunk size being read, then its data left
    uint8_t phase;              // CLE_FRAMING_…
    uint8_t chunk_state;
    uint8_t chunk_digits;
    uint8_t name_at;            // "transfer-encoding" bytes matched on this line; 0xff: not it
    uint8_t prev1, prev2;       // the two head bytes before the newest
    unsigned seen_text : 1;     // the head has a byte other than CR or LF
    unsigned chunked : 1;       // the head has a Transfer-Encoding line: its body is checked
    unsigned bad_head : 1;      // a NUL in the head, or a folded line (obs-fold)
} cle_framing;

void cle_framing_start(cle_framing *f);
/// Follows `n` more bytes of the request. Returns how many belong to it: fewer than `n` only
/// when a chunked body ended (DONE) or went wrong (BAD_BODY) inside them. A plain body's bytes
/// are taken unchecked (evhttp counts them against Content-Length).
size_t cle_framing_feed(cle_framing *f, const uint8_t *_Nullable p, size_t n);

// MARK: - Upstream transfers (curl easy handles on the loop's multi handle)

typedef struct cle_transfer cle_transfer;

typedef struct cle_transfer_callbacks {
    /* CURLOPT_HEADERFUNCTION: one header line (status line included), CRLF kept. */
    void (*on_header)(void *_Nullable ctx, const char *line, size_t len);
    /* CURLOPT_WRITEFUNCTION: body bytes. Return 1 to take them, 0 to pause the transfer
       (the same bytes are offered again after cle_transfer_resume). */
    int (*on_data)(void *_Nullable ctx, const uint8_t *data, size_t len);
    /* Completion, exactly once per started transfer unless aborted: a CURLcode. */
    void (*on_done)(void *_Nullable ctx, int curl_code);
} cle_transfer_callbacks;

/// One piece of a request body gathered from several places (see cle_transfer_options.parts).
typedef struct cle_body_part {
    const uint8_t *_Nullable data;
    size_t len;
} cle_body_part;

typedef struct cle_transfer_options {
    const char *url;
    const uint8_t *_Nullable body;  // not copied: must stay valid until on_done or abort
    size_t body_len;                // the whole body's length (the parts' sum when parts is set)
    // Instead of `body`: the body is these parts in order, read by curl's read callback
    // straight into its upload buffer (no contiguous copy made first). Neither the array nor
    // the bytes are copied: both must stay valid until on_done or abort.
    const cle_body_part *_Nullable parts;
    size_t nparts;
    int is_post;
    long connect_timeout_ms;
    long total_timeout_ms;     // 0: none (streams bound idle time with low-speed limits)
    long low_speed_seconds;    // abort when below 1 byte/s for this long; 0: off
    int verify_tls;
    int http2;                 // offer HTTP/2 over TLS (ALPN)
    long receive_buffer_bytes; // CURLOPT_BUFFERSIZE: curl's per-transfer receive buffer
                               // (1024 … 512 KiB); 0: curl's default, 16 KiB
    const char *_Nullable custom_method; // CURLOPT_CUSTOMREQUEST (PUT, DELETE, …); NULL: GET or POST
} cle_transfer_options;

/// Creates a transfer (an easy handle from the loop's pool). NULL on failure.
cle_transfer *_Nullable cle_transfer_new(cle_loop *loop, const cle_transfer_callbacks *cbs,
                                         void *_Nullable ctx);
/// Adds a request header line ("Name: value"). Before cle_transfer_start.
int cle_transfer_add_header(cle_transfer *t, const char *line);
/// Adds the request header "name: value" (curl copies it).
int cle_transfer_add_header_kv(cle_transfer *t, const char *name, const char *value);
/// Starts the transfer. Returns a CURLMcode/CURLcode (0 on success); on failure the transfer
/// is freed and no callback fires.
int cle_transfer_start(cle_transfer *t, const cle_transfer_options *options);
/// The HTTP status of the last response (0 before headers).
long cle_transfer_status(cle_transfer *t);
/// Microseconds from start until the request was about to be sent (0: never connected).
long long cle_transfer_pretransfer_us(cle_transfer *t);
/// Once curl has sent the whole request: frees the header lines (curl is told first) and
/// returns 1 — options.body may then be freed too. Else 0, and nothing changes.
int cle_transfer_release_upload(cle_transfer *t);
/// Resumes a paused transfer in a later loop pass (never re-entrantly).
void cle_transfer_resume(cle_transfer *t);
/// Cancels the transfer now (or at the end of the current curl callback when called inside
/// one). No callback fires afterwards; the shim frees the transfer.
void cle_transfer_abort(cle_transfer *t);
/// Text for a CURLcode.
const char *cle_curl_strerror(int code);

// MARK: - SHA-256 blocks (libcrypto, which libcurl already loads; it uses the CPU's SHA extensions)

/// Runs SHA-256's compression function over `blocks` 64-byte blocks: `h` is the state h0…h7.
void cle_sha256_blocks(uint32_t *_Nullable h, const void *_Nullable data, long blocks);

// MARK: - Redis (hiredis async on the loop's event_base: the shared store)

typedef struct cle_redis cle_redis;
enum { CLE_REDIS_DOWN = 0, CLE_REDIS_UP = 1 };
/// The connection came up (CLE_REDIS_UP) or failed / went away (CLE_REDIS_DOWN; reconnect with
/// cle_redis_connect, never from inside this callback's hiredis context: it is being freed).
typedef void (*cle_redis_event_cb)(void *_Nullable ctx, int event);
/// Exactly one call per command cle_redis_command accepted, in the order sent. `reply` is
/// NULL when the connection went away first; it is valid only during the call (hiredis frees it).
typedef void (*cle_redis_reply_cb)(void *_Nullable ctx, const redisReply *_Nullable reply);

/// A client, not yet connected. The owner frees it with cle_redis_free.
cle_redis *_Nullable cle_redis_new(cle_loop *loop, cle_redis_event_cb on_event, cle_redis_reply_cb on_reply, void *_Nullable ctx);
/// Sets the context passed to the callbacks (for owners that exist only after the client).
void cle_redis_set_context(cle_redis *r, void *_Nullable ctx);
/// Starts connecting (non-blocking): an UP or DOWN event follows. -1: failed at once (no event).
int cle_redis_connect(cle_redis *r, const char *host, int port);
/// Queues one command (binary-safe arguments, copied). Commands are written together when the
/// socket is writable: pipelined. 0: a reply callback will follow; -1: not connected (none).
int cle_redis_command(cle_redis *r, int argc, const char *_Nonnull const *_Nonnull argv, const size_t *argvlen);
/// Closes after the pending replies have arrived; a DOWN event follows.
void cle_redis_disconnect(cle_redis *r);
/// Drops the connection now: pending commands get a NULL reply, no DOWN event. Not from
/// inside a hiredis callback.
void cle_redis_drop(cle_redis *r);
/// Drops the connection without calling back, and frees `r`. Not from inside a callback.
void cle_redis_free(cle_redis *r);

#pragma clang assume_nonnull end

#endif
