// The inbound side: evhttp server, one cle_exchange per request, the bounded SSE chunk queue and
// client-disconnect detection.
#include "cle_internal.h"
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <event2/http_struct.h>
#include <event2/keyvalq_struct.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>

struct cle_server {
    cle_loop *loop;
    int header_timeout_seconds;       /* a request head, at most; 0: no deadline */
    int body_timeout_seconds;         /* between reads of a request body; 0: no deadline */
    uint8_t *reject_reply;            /* the whole 400 response sent raw (bad chunked framing) */
    size_t reject_reply_len;
    const uint8_t *reject_body;       /* its body (inside reject_reply) */
    size_t reject_body_len;
    struct evhttp *http;
    struct evhttp_bound_socket *bound;
    cle_request_handler handler;
    void *ctx;
    uint16_t port;
    unsigned unfinished;              /* requests whose reply has not fully left (drain waits) */
    size_t stream_queued_bytes;       /* SSE bytes queued for all clients, not yet written */
    struct event *accept_resume;      /* re-enables accepting after a failed accept */
    unsigned accept_pauses;
    cle_callback on_accept_paused;
    struct evconnlistener *listener;  /* evhttp's, while listening */
    cle_server *next_server;          /* this thread's servers (the listener's callback has
                                         evhttp's context, not ours) */
    struct evbuffer *scratch;         /* carries one SSE chunk into evhttp; empty between calls */
    struct cle_conn **conns;          /* by descriptor: the client connections being watched */
    int conns_cap;
};

/* A client connection (see "a connection's request framing and deadlines" below). It also
   watches the client leaving while a request is upstream: one persistent read event for the
   connection's life: evhttp stops reading while a request is upstream and starts again for
   the next, and with the watch in place epoll's registration never changes (an EPOLLRDHUP
   watch per request cost two epoll_ctl per request). */
typedef struct cle_conn {
    cle_server *server;
    struct evhttp_connection *evcon;  /* NULL until adopted */
    struct bufferevent *bev;
    evutil_socket_t fd;
    struct event *watch;              /* in the same allocation, right after this struct */
    struct cle_reading *rd;           /* while requests are read (not while one streams) */
    struct evbuffer_cb_entry *input_cb;
    cle_exchange *x;                  /* the exchange in flight, or NULL */
    uint8_t phase;                    /* CONN_IDLE, CONN_HEAD, CONN_BODY, CONN_REQUEST */
    unsigned watch_assigned : 1;
    unsigned watching : 1;            /* the watch is added */
    unsigned closed_mode : 1;         /* watching EV_CLOSED: the client sent more mid-request */
    unsigned adopted : 1;             /* evcon known, close callback set, our bev reference gone */
    unsigned rejected : 1;            /* not to be handled: answered 400, or to be */
} cle_conn;

/* What a connection needs only while it reads a request, in one allocation with its timer: a
   stream's connection reads nothing for the stream's whole life, so it goes when the stream
   starts (cle_exchange_stream_start) and comes back for a later request. */
static void reading_free(struct cle_conn *c);

typedef struct cle_reading {
    struct timeval due;               /* when this phase's deadline passes; tv_sec 0: none */
    struct timeval fires;             /* when the pending timer fires (while armed) */
    cle_framing framing;              /* the request being read */
    unsigned armed : 1;               /* the timer is pending */
    struct event *timer;              /* right after this struct */
} cle_reading;

struct cle_exchange {
    struct evhttp_request *req;       /* NULL once released (replied or client gone) */
    cle_loop *loop;
    cle_server *server;
    const uint8_t *body;              /* pulled-up request body */
    size_t body_len;
    /* client watch */
    cle_callback on_gone;
    void *ctx;
    cle_conn *conn;                   /* while watched */
    struct timeval born;              /* the loop pass that read the request */
    /* SSE chunks: each a malloc'd copy referenced by the client's output evbuffer until
       written (its cleanup frees it). The ring is full at nslots chunks or max_bytes bytes
       queued (one chunk may pass the byte bound when the ring was not full before it), and
       drains at low_mark chunks and low_bytes bytes. */
    unsigned nslots, low_mark, queued;
    size_t queued_bytes, max_bytes, low_bytes;
    unsigned busy;                    /* >0 inside shim calls that may release slots */
    unsigned was_full : 1;
    unsigned flush_pending : 1;       /* on loop->flush: chunks queued, not yet written */
    unsigned wrote_chunk : 1;         /* the stream's first chunk went out (with the head) */
    unsigned streaming : 1;
    unsigned finished : 1;            /* the reply is complete on our side */
    unsigned gone : 1;                /* the client left first */
    cle_callback on_drain;
    struct event *drain_ev;           /* created when the queue first fills */
    cle_exchange *flush_next;
    struct evbuffer *held;            /* chunks (by reference) given during one curl action,
                                         sent as one HTTP chunk once it returns */
};

static void exchange_maybe_free(cle_exchange *x) {
    if (!(x->finished || x->gone) || x->queued || x->busy) return;
    if (x->drain_ev) event_free(x->drain_ev);
    if (x->held) evbuffer_free(x->held);   /* empty: its chunks count in queued */
    free(x);
}

/* Frees the held chunks unsent (the reply is over). Their cleanups cannot free x meanwhile. */
static void held_drop(cle_exchange *x) {
    size_t n = x->held ? evbuffer_get_length(x->held) : 0;
    if (!n) return;
    x->busy++;
    evbuffer_drain(x->held, n);
    x->busy--;
}

/* Sends the held chunks as one HTTP chunk (their references move, no copy). */
static void held_send(cle_exchange *x) {
    if (!x->held || !evbuffer_get_length(x->held)) return;
    if (!x->req || x->gone || x->finished) {
        held_drop(x);
        return;
    }
    x->busy++;
    evhttp_send_reply_chunk(x->req, x->held);
    x->busy--;
}

static void watch_cb(evutil_socket_t fd, short what, void *arg);

static void conn_set_watch(cle_conn *c, short kind) {
    if (c->watching) event_del(c->watch);
    event_assign(c->watch, c->server->loop->base, c->fd, kind, watch_cb, c);
    c->closed_mode = (kind & EV_CLOSED) != 0;
    c->watching = event_add(c->watch, NULL) == 0;
}

/* Stops watching the client for this exchange; called before the reply releases the request.
   The connection's watch stays for its next request. */
static void exchange_unwatch(cle_exchange *x) {
    cle_conn *c = x->conn;
    x->conn = NULL;
    if (!c || c->x != x) return;
    c->x = NULL;
    if (c->closed_mode) conn_set_watch(c, EV_READ | EV_PERSIST);
}

/* The exchange's client went away before its reply was complete. `req` is evhttp's request,
   detached from its connection (ours to free) or about to be freed with it. */
static void exchange_client_gone(cle_exchange *x) {
    if (x->gone || x->finished) return;
    x->gone = 1;
    x->conn = NULL;
    x->server->unfinished--;          /* evhttp will not complete this reply */
    held_drop(x);
    struct evhttp_request *req = x->req;
    x->req = NULL;
    if (req && evhttp_request_get_connection(req) == NULL) evhttp_request_free(req);
    x->busy++;
    if (x->on_gone) x->on_gone(x->ctx);
    x->busy--;
    /* if chunks are still queued, their cleanups (as libevent frees the connection) free x */
    exchange_maybe_free(x);
}

/* evhttp_connection_set_closecb: evhttp is freeing the connection. */
static void connection_closed_cb(struct evhttp_connection *evcon, void *arg) {
    (void)evcon;
    cle_conn *c = arg;
    cle_server *s = c->server;
    cle_exchange *x = c->x;
    c->x = NULL;
    if (c->fd >= 0 && c->fd < s->conns_cap && s->conns[c->fd] == c) s->conns[c->fd] = NULL;
    if (c->watching) event_del(c->watch);
    reading_free(c);
    if (c->input_cb) evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->input_cb);
    free(c);
    if (x) exchange_client_gone(x);
}

/* The watch: the client's socket is readable while its request is upstream or streaming. */
static void watch_cb(evutil_socket_t fd, short what, void *arg) {
    cle_conn *c = arg;
    cle_exchange *x = c->x;
    if (!x || !x->req || x->gone || x->finished) {
        /* Between requests evhttp reads; if it is not reading, whatever is pending would wake
           us on every pass: stand down until the next request. */
        if (!(bufferevent_get_enabled(c->bev) & EV_READ)) {
            event_del(c->watch);
            c->watching = 0;
        }
        return;
    }
    if (!(what & EV_CLOSED)) {
        struct timeval now;
        event_base_gettimeofday_cached(c->server->loop->base, &now);
        if (now.tv_sec == x->born.tv_sec && now.tv_usec == x->born.tv_usec) return;  /* its own request */
        char byte;
        ssize_t n = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n > 0) {                  /* more from the client mid-request: watch for the close only */
            conn_set_watch(c, EV_CLOSED | EV_PERSIST);
            return;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
        /* n == 0: the client closed; n < 0: an error such as a reset */
    }
    x->busy++;
    evhttp_connection_free(c->evcon);  /* runs connection_closed_cb: c is freed */
    x->busy--;
    exchange_maybe_free(x);
}

static void drain_event_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd; (void)what;
    cle_exchange *x = arg;
    if (x->gone || x->finished || !x->on_drain) return;
    x->on_drain(x->ctx);
}

/* evbuffer_add_reference cleanup: the chunk reached the client's socket (or was dropped). */
static void chunk_cleanup(const void *data, size_t len, void *extra) {
    cle_exchange *x = extra;
    free((void *)data);
    x->queued--;
    x->queued_bytes -= len;
    x->server->stream_queued_bytes -= len;
    if (x->was_full && x->drain_ev && x->queued <= x->low_mark && x->queued_bytes <= x->low_bytes &&
        !x->gone && !x->finished) {
        x->was_full = 0;
        event_active(x->drain_ev, EV_TIMEOUT, 0);   /* never re-entrantly from here */
    }
    exchange_maybe_free(x);
}

/* evhttp_request_set_on_complete_cb: the last byte of the reply reached the socket. */
static void request_complete_cb(struct evhttp_request *req, void *arg) {
    (void)req;
    cle_server *s = arg;
    s->unfinished--;
}

static void conn_request_done(cle_conn *c);

static void request_complete_conn_cb(struct evhttp_request *req, void *arg) {
    (void)req;
    cle_conn *c = arg;
    c->server->unfinished--;
    conn_request_done(c);
}

// MARK: reading request bodies at once

/* libevent 2.1 reads at most 4,096 bytes per wake-up (EVBUFFER_MAX_READ), so a 200 KB request
   body took ~50 trips round the loop. When a read comes back full, read everything else the
   socket holds in one go, into one chain together with what is already buffered: the
   body then sits contiguously and evhttp hands it over by moving that chain (no pull-up copy).
   Bounded per wake-up; evhttp still enforces the header and body limits on what it parses.
   What is already buffered is copied into the new chain only when the new bytes are at least
   as many: an upload arriving in small bursts would otherwise have its whole body copied again
   on every burst (quadratic); this way each byte is copied a bounded number of times.
   Returns the bytes added. */
enum { CLE_LIBEVENT_READ = 4096, CLE_READ_AHEAD_MAX = 8 * 1024 * 1024 };

static _Thread_local int reading_ahead;
static _Thread_local uint64_t read_ahead_copied;

uint64_t cle_read_ahead_copied_bytes(void) { return read_ahead_copied; }

static size_t read_ahead(struct evbuffer *in, struct bufferevent *bev) {
    evutil_socket_t fd = bufferevent_getfd(bev);
    int avail = 0;
    if (fd < 0 || ioctl(fd, FIONREAD, &avail) != 0 || avail <= 0) return 0;
    size_t want = avail < CLE_READ_AHEAD_MAX ? (size_t)avail : CLE_READ_AHEAD_MAX;
    size_t buffered = evbuffer_get_length(in);
    size_t have = buffered <= want ? buffered : 0;   /* joined only when the new bytes pay for it */
    struct evbuffer *joined = evbuffer_new();
    struct evbuffer_iovec v;
    size_t added = 0;
    if (!joined) return 0;
    reading_ahead = 1;
    if (evbuffer_reserve_space(joined, (ev_ssize_t)(have + want), &v, 1) == 1 && v.iov_len >= have + want) {
        evbuffer_copyout(in, v.iov_base, have);
        ssize_t got = recv(fd, (char *)v.iov_base + have, want, 0);
        if (got > 0) {
            v.iov_len = have + (size_t)got;
            evbuffer_commit_space(joined, &v, 1);
            evbuffer_drain(in, have);
            evbuffer_add_buffer(in, joined);   /* moves the chain */
            read_ahead_copied += have;
            added = (size_t)got;
        }
        /* got <= 0 (EAGAIN, EOF or an error): libevent's next read sees it as it would have */
    }
    reading_ahead = 0;
    evbuffer_free(joined);
    return added;
}

// MARK: a connection's request framing and deadlines

/* Every client connection gets a cle_conn when evhttp makes its bufferevent. It follows the
   connection's requests from the bytes read, ahead of evhttp's parser:
   - a request head must be complete within the header timeout (from the accept for the
     first request, from its first byte for later ones on a kept-alive connection);
   - a body must keep arriving: at most the body timeout between reads;
   - a head with a NUL (evhttp would cut the value there) or a folded line is answered 400
     and the connection closed once evhttp hands the request over, instead of being handled;
   - a chunked body whose framing is not strictly RFC 9112's is answered 400 at once and the
     connection closed (evhttp would say 413, or read it loosely).
   What is bad is the pure parser's call (cle_framing.c); this is the glue.
   A missed deadline shuts the socket down: evhttp meets the end of the stream and frees all.
   Until the connection is adopted (its evhttp_connection known and its close callback set, in
   the loop pass after the accept) the conn holds a reference on the bufferevent; afterwards
   the close callback frees the conn. */
enum { CONN_IDLE, CONN_HEAD, CONN_BODY, CONN_REQUEST };

static void conn_deadline_cb(evutil_socket_t fd, short what, void *arg);
static void conn_input_cb(struct evbuffer *in, const struct evbuffer_cb_info *info, void *arg);
static void connection_closed_cb(struct evhttp_connection *evcon, void *arg);

static struct timeval loop_now(cle_server *s) {
    struct timeval now;
    event_base_gettimeofday_cached(s->loop->base, &now);
    return now;
}

/* The connection's reading state, made if it has none (NULL: out of memory). */
static cle_reading *reading_of(cle_conn *c) {
    if (c->rd) return c->rd;
    size_t head = (sizeof(cle_reading) + 15) & ~(size_t)15;
    cle_reading *rd = calloc(1, head + event_get_struct_event_size());
    if (!rd) return NULL;
    rd->timer = (struct event *)((char *)rd + head);
    event_assign(rd->timer, c->server->loop->base, -1, 0, conn_deadline_cb, c);
    c->rd = rd;
    return rd;
}

static void reading_free(cle_conn *c) {
    cle_reading *rd = c->rd;
    if (!rd) return;
    if (rd->armed) event_del(rd->timer);
    free(rd);
    c->rd = NULL;
}

/* Sets the phase's deadline `seconds` from now; the timer is (re)armed only when it would
   otherwise fire later than that (it re-checks `due` when it fires). */
static void conn_set_due(cle_conn *c, int seconds) {
    cle_server *s = c->server;
    cle_reading *rd = reading_of(c);
    if (!rd) return;                  /* out of memory: this phase goes without a deadline */
    if (seconds <= 0) {
        rd->due.tv_sec = 0;
        return;
    }
    rd->due = loop_now(s);
    rd->due.tv_sec += seconds;
    /* A timer armed for a later deadline (the head's, when the body's is shorter) is moved up:
       it would otherwise let a stalled body run to the head's deadline. */
    if (!rd->armed || evutil_timercmp(&rd->due, &rd->fires, <)) {
        struct timeval tv = { seconds, 0 };
        if (rd->armed) event_del(rd->timer);
        rd->armed = event_add(rd->timer, &tv) == 0;
        rd->fires = rd->due;
    }
}

static void conn_clear_due(cle_conn *c) {
    cle_reading *rd = c->rd;
    if (!rd) return;
    rd->due.tv_sec = 0;
    if (rd->armed) {
        event_del(rd->timer);
        rd->armed = 0;
    }
}

/* Makes room for descriptor `fd` in the server's table of conns. 0, or -1. */
static int conns_reserve(cle_server *s, evutil_socket_t fd) {
    if (fd < 0) return -1;
    if (fd < s->conns_cap) return 0;
    int cap = s->conns_cap ? s->conns_cap : 256;
    while (cap <= fd) cap *= 2;
    cle_conn **grown = realloc(s->conns, (size_t)cap * sizeof *grown);
    if (!grown) return -1;
    memset(grown + s->conns_cap, 0, (size_t)(cap - s->conns_cap) * sizeof *grown);
    s->conns = grown;
    s->conns_cap = cap;
    return 0;
}

/* Learns the evhttp_connection (evhttp made the bufferevent's callbacks point at it) and
   hands the conn's lifetime to its close callback. 0: adopted; -1: evhttp has already let the
   connection go (its callbacks are cleared), and the conn was freed. */
static int conn_adopt(cle_conn *c) {
    if (c->adopted) return 0;
    bufferevent_event_cb eventcb = NULL;
    void *arg = NULL;
    bufferevent_getcb(c->bev, NULL, NULL, &eventcb, &arg);
    struct evhttp_connection *evcon = arg;
    if (!eventcb || !evcon || evhttp_connection_get_bufferevent(evcon) != c->bev) {
        struct bufferevent *bev = c->bev;
        reading_free(c);
        evbuffer_remove_cb_entry(bufferevent_get_input(bev), c->input_cb);
        free(c);
        bufferevent_decref(bev);
        return -1;
    }
    cle_server *s = c->server;
    c->evcon = evcon;
    c->fd = bufferevent_getfd(c->bev);
    if (conns_reserve(s, c->fd) == 0) s->conns[c->fd] = c;
    evhttp_connection_set_closecb(evcon, connection_closed_cb, c);
    c->adopted = 1;
    bufferevent_decref(c->bev);
    return 0;
}

/* A request that must not be handled: `raw` writes the server's 400 straight to the socket
   (evhttp holds no request to answer through) and ends the sending side. Either way the
   deadline closes the connection if evhttp has not by then. */
static void conn_reject(cle_conn *c, int raw) {
    if (c->rejected) return;
    c->rejected = 1;
    cle_server *s = c->server;
    evutil_socket_t fd = bufferevent_getfd(c->bev);
    if (raw && fd >= 0) {
        if (s->reject_reply_len) send(fd, s->reject_reply, s->reject_reply_len, MSG_NOSIGNAL | MSG_DONTWAIT);
        shutdown(fd, SHUT_WR);
    }
    conn_set_due(c, s->header_timeout_seconds > 0 ? s->header_timeout_seconds : 10);
}

/* Starts reading a request head: its deadline runs from now. */
static void conn_begin_head(cle_conn *c) {
    c->phase = CONN_HEAD;
    cle_reading *rd = reading_of(c);
    if (rd) cle_framing_start(&rd->framing);
    conn_set_due(c, c->server->header_timeout_seconds);
}

/* Follows the request framing over `n` bytes just read. */
static void conn_follow(cle_conn *c, const uint8_t *p, size_t n) {
    if (!n || c->rejected || c->phase == CONN_REQUEST) return;   /* after it: the next request's */
    if (c->phase == CONN_IDLE) conn_begin_head(c);
    if (!c->rd) return;               /* out of memory: not followed */
    cle_framing *f = &c->rd->framing;
    cle_framing_feed(f, p, n);
    if (f->phase == CLE_FRAMING_HEAD) return;
    if (f->bad_head) {                /* answered 400 once evhttp hands the request over */
        conn_reject(c, 0);
        return;
    }
    if (f->phase == CLE_FRAMING_BAD_BODY) {
        conn_reject(c, 1);            /* evhttp would say 413, or read it loosely */
        return;
    }
    c->phase = CONN_BODY;
    conn_set_due(c, c->server->body_timeout_seconds);   /* the body's start, then its progress */
}

/* Follows the last `n` bytes of `in`. */
static void conn_follow_tail(cle_conn *c, struct evbuffer *in, size_t n) {
    size_t len = evbuffer_get_length(in);
    if (n > len) n = len;
    struct evbuffer_ptr at;
    if (evbuffer_ptr_set(in, &at, len - n, EVBUFFER_PTR_SET) != 0) return;
    while (n && !c->rejected && c->phase != CONN_REQUEST) {
        struct evbuffer_iovec v[8];
        int got = evbuffer_peek(in, (ev_ssize_t)n, &at, v, 8);
        if (got <= 0) return;
        size_t step = 0;
        for (int i = 0; i < got && i < 8 && n > step; i++) {
            size_t m = v[i].iov_len < n - step ? v[i].iov_len : n - step;
            conn_follow(c, v[i].iov_base, m);
            step += m;
        }
        n -= step;
        if (n && evbuffer_ptr_set(in, &at, step, EVBUFFER_PTR_ADD) != 0) return;
    }
}

static void conn_input_cb(struct evbuffer *in, const struct evbuffer_cb_info *info, void *arg) {
    cle_conn *c = arg;
    if (reading_ahead || info->n_added == 0) return;
    if (!c->adopted && conn_adopt(c) != 0) return;
    size_t n = info->n_added;
    if (n == CLE_LIBEVENT_READ) n += read_ahead(in, c->bev);
    if (c->rejected || c->phase == CONN_REQUEST) return;
    if (c->phase == CONN_BODY && (!c->rd || !c->rd->framing.chunked)) {   /* a plain body: only its progress counts */
        conn_set_due(c, c->server->body_timeout_seconds);
        return;
    }
    conn_follow_tail(c, in, n);
}

/* The reply reached the socket: the connection waits for its next request, whose bytes may
   already be here (pipelined). */
static void conn_request_done(cle_conn *c) {
    c->phase = CONN_IDLE;
    conn_clear_due(c);
    struct evbuffer *in = bufferevent_get_input(c->bev);
    if (!c->input_cb) c->input_cb = evbuffer_add_cb(in, conn_input_cb, c);   /* after a stream */
    size_t len = evbuffer_get_length(in);
    if (len) conn_follow_tail(c, in, len);
}

static void conn_deadline_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd; (void)what;
    cle_conn *c = arg;
    cle_reading *rd = c->rd;          /* the timer's own */
    rd->armed = 0;
    if (!c->adopted && conn_adopt(c) != 0) return;
    if (!rd->due.tv_sec) return;
    struct timeval now = loop_now(c->server);
    if (evutil_timercmp(&now, &rd->due, <)) {
        struct timeval left;
        evutil_timersub(&rd->due, &now, &left);
        rd->armed = event_add(rd->timer, &left) == 0;
        rd->fires = rd->due;
        return;
    }
    /* Too slow: evhttp meets the end of the stream at its next read and frees all. */
    rd->due.tv_sec = 0;
    evutil_socket_t sock = bufferevent_getfd(c->bev);
    if (sock >= 0) shutdown(sock, SHUT_RDWR);
}

/* One allocation for the connection and its watch (an idle stream holds both); the reading
   state is its own (cle_reading). */
static cle_conn *conn_new(cle_server *s, struct bufferevent *bev) {
    size_t head = (sizeof(cle_conn) + 15) & ~(size_t)15;
    cle_conn *c = calloc(1, head + event_get_struct_event_size());
    if (!c) return NULL;
    c->server = s;
    c->bev = bev;
    c->fd = -1;
    c->watch = (struct event *)((char *)c + head);
    return c;
}

/* evhttp_set_bevcb: the connection's bufferevent, as evhttp would make it, followed above. */
static struct bufferevent *make_connection_bev(struct event_base *base, void *arg) {
    cle_server *s = arg;
    struct bufferevent *bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (!bev) return NULL;
    cle_conn *c = conn_new(s, bev);
    if (!c) return bev;
    cle_reading *rd = reading_of(c);
    c->input_cb = rd ? evbuffer_add_cb(bufferevent_get_input(bev), conn_input_cb, c) : NULL;
    if (!c->input_cb) {
        reading_free(c);
        free(c);
        return bev;
    }
    bufferevent_incref(bev);          /* until adopted */
    c->phase = CONN_HEAD;             /* the first head's deadline runs from the accept */
    if (s->header_timeout_seconds > 0) {
        rd->due = loop_now(s);
        rd->due.tv_sec += s->header_timeout_seconds;
    }
    struct timeval zero = { 0, 0 };   /* adopted in this loop pass, unless bytes come first */
    rd->armed = event_add(rd->timer, &zero) == 0;
    return bev;
}

/* The conn of a request's connection, if it has one. */
static cle_conn *conn_of(cle_server *s, struct evhttp_request *req) {
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;
    if (fd < 0 || fd >= s->conns_cap) return NULL;
    cle_conn *c = s->conns[fd];
    return c && c->evcon == evcon ? c : NULL;
}

/* A request the connection's framing check refused before evhttp finished reading it (a NUL
   in its head): 400 and close, never handled. */
static void reply_rejected(cle_server *s, struct evhttp_request *req) {
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    evhttp_add_header(out, "Content-Type", "application/json");
    evhttp_add_header(out, "thinkback-error", "origin=client retryable=false");
    evhttp_add_header(out, "Connection", "close");
    struct evbuffer *body = evbuffer_new();
    if (body) evbuffer_add(body, s->reject_body, s->reject_body_len);
    evhttp_send_reply(req, 400, "Bad Request", body);
    if (body) evbuffer_free(body);
}

static void request_cb(struct evhttp_request *req, void *arg) {
    cle_server *s = arg;
    cle_conn *c = conn_of(s, req);
    if (c) {
        conn_clear_due(c);
        c->phase = CONN_REQUEST;
        if (c->rejected) {
            reply_rejected(s, req);
            return;
        }
    }
    cle_exchange *x = CLE_FAIL("request") ? NULL : calloc(1, sizeof *x);
    if (!x) {
        static const char oom[] = "{\"error\":{\"message\":\"thinkback: out of memory, retry later\","
                                  "\"type\":\"server_error\",\"code\":\"out_of_memory\"}}";
        struct evkeyvalq *out = evhttp_request_get_output_headers(req);
        evhttp_add_header(out, "Content-Type", "application/json");
        evhttp_add_header(out, "thinkback-error", "origin=internal retryable=true");
        evhttp_add_header(out, "Connection", "close");
        struct evbuffer *body = evbuffer_new();
        if (body) evbuffer_add(body, oom, sizeof oom - 1);
        evhttp_send_reply(req, 503, "Service Unavailable", body);
        if (body) evbuffer_free(body);
        return;
    }
    x->req = req;
    x->loop = s->loop;
    x->server = s;
    event_base_gettimeofday_cached(s->loop->base, &x->born);
    s->unfinished++;
    if (c) evhttp_request_set_on_complete_cb(req, request_complete_conn_cb, c);
    else evhttp_request_set_on_complete_cb(req, request_complete_cb, s);
    s->handler(x, s->ctx);
}

/* accept() failed for a reason that does not pass by retrying at once — typically EMFILE at
   the descriptor limit. The listening socket stays readable while connections wait in its
   backlog, so libevent would call accept() again on every loop pass (a busy loop, and a log
   line each time): stop accepting for a moment instead; the waiting clients are taken once
   descriptors are free again. */
enum { CLE_ACCEPT_PAUSE_MS = 100 };

static _Thread_local cle_server *thread_servers;

static void accept_error_cb(struct evconnlistener *lev, void *arg) {
    (void)arg;                        /* evhttp's */
    cle_server *s = thread_servers;
    while (s && s->listener != lev) s = s->next_server;
    evconnlistener_disable(lev);
    if (!s) return;                   /* cannot happen: every listener is one of ours */
    s->accept_pauses++;
    struct timeval tv = { 0, CLE_ACCEPT_PAUSE_MS * 1000 };
    evtimer_add(s->accept_resume, &tv);
    if (s->on_accept_paused) s->on_accept_paused(s->ctx);
}

static void accept_resume_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd; (void)what;
    cle_server *s = arg;
    if (s->listener) evconnlistener_enable(s->listener);
}

cle_server *cle_server_new(cle_loop *loop, const cle_server_options *o, cle_request_handler handler,
                           void *ctx, char *err, size_t err_len) {
    cle_server *s = calloc(1, sizeof *s);
    if (!s) { snprintf(err, err_len, "out of memory"); return NULL; }
    s->loop = loop;
    s->handler = handler;
    s->ctx = ctx;
    s->http = evhttp_new(loop->base);
    s->scratch = evbuffer_new();
    if (!s->http || !s->scratch) {
        snprintf(err, err_len, "evhttp_new failed");
        if (s->http) evhttp_free(s->http);
        if (s->scratch) evbuffer_free(s->scratch);
        free(s);
        return NULL;
    }
    evhttp_set_default_content_type(s->http, NULL);
    evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                        EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
                                        EVHTTP_REQ_PATCH | EVHTTP_REQ_CONNECT | EVHTTP_REQ_TRACE);
    /* CONNECT and TRACE reach the handler only to be refused with a 4xx and a close (evhttp
       would answer 501 and keep the connection). */
    if (o->max_body_bytes > 0) evhttp_set_max_body_size(s->http, o->max_body_bytes);
    if (o->max_header_bytes > 0) evhttp_set_max_headers_size(s->http, o->max_header_bytes);
    if (o->idle_timeout_seconds > 0) evhttp_set_timeout(s->http, o->idle_timeout_seconds);
    evhttp_set_gencb(s->http, request_cb, s);
    s->header_timeout_seconds = o->header_timeout_seconds;
    s->body_timeout_seconds = o->body_timeout_seconds;
    if (o->reject_body_len) {
        char head[200];
        int hl = snprintf(head, sizeof head, "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
                          "thinkback-error: origin=client retryable=false\r\n"
                          "Content-Length: %zu\r\nConnection: close\r\n\r\n", o->reject_body_len);
        s->reject_reply = malloc((size_t)hl + o->reject_body_len);
        if (s->reject_reply) {
            memcpy(s->reject_reply, head, (size_t)hl);
            memcpy(s->reject_reply + hl, o->reject_body, o->reject_body_len);
            s->reject_reply_len = (size_t)hl + o->reject_body_len;
            s->reject_body = s->reject_reply + hl;
            s->reject_body_len = o->reject_body_len;
        }
    }
    evhttp_set_bevcb(s->http, make_connection_bev, s);
    if (o->listen_fd >= 0) {
        evutil_make_socket_nonblocking(o->listen_fd);
        s->bound = evhttp_accept_socket_with_handle(s->http, o->listen_fd);
    } else {
        s->bound = evhttp_bind_socket_with_handle(s->http, o->address, o->port);
    }
    if (!s->bound) {
        if (o->listen_fd >= 0) snprintf(err, err_len, "cannot serve the listening socket %d", o->listen_fd);
        else snprintf(err, err_len, "cannot listen on %s:%u", o->address, (unsigned)o->port);
        evhttp_free(s->http);
        evbuffer_free(s->scratch);
        free(s->reject_reply);
        free(s);
        return NULL;
    }
    s->on_accept_paused = o->on_accept_paused;
    s->accept_resume = evtimer_new(loop->base, accept_resume_cb, s);
    s->listener = evhttp_bound_socket_get_listener(s->bound);
    if (s->accept_resume && s->listener) evconnlistener_set_error_cb(s->listener, accept_error_cb);
    s->next_server = thread_servers;
    thread_servers = s;
    struct sockaddr_storage ss;
    ev_socklen_t sl = sizeof ss;
    evutil_socket_t fd = evhttp_bound_socket_get_fd(s->bound);
    /* SSE events are small writes: without TCP_NODELAY, Nagle holds them for the client's
       delayed ACK (40 ms). Linux hands the option down to every accepted socket. */
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET) s->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        else if (ss.ss_family == AF_INET6) s->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    return s;
}

uint16_t cle_server_port(const cle_server *s) { return s->port; }

unsigned cle_server_unfinished(const cle_server *s) { return s->unfinished; }

size_t cle_server_stream_queued_bytes(const cle_server *s) { return s->stream_queued_bytes; }

unsigned cle_server_accept_pauses(const cle_server *s) { return s->accept_pauses; }

void cle_server_stop_listening(cle_server *s) {
    if (s->accept_resume) evtimer_del(s->accept_resume);
    s->listener = NULL;
    if (s->bound) {
        evhttp_del_accept_socket(s->http, s->bound);
        s->bound = NULL;
    }
}

void cle_server_free(cle_server *s) {
    for (cle_server **p = &thread_servers; *p; p = &(*p)->next_server) {
        if (*p == s) {
            *p = s->next_server;
            break;
        }
    }
    if (s->accept_resume) event_free(s->accept_resume);
    evhttp_free(s->http);             /* frees the connections: their close callbacks free ours */
    free(s->conns);
    evbuffer_free(s->scratch);
    free(s->reject_reply);
    free(s);
}

// MARK: the request

int cle_exchange_method(const cle_exchange *x) { return (int)evhttp_request_get_command(x->req); }

const char *cle_exchange_uri(const cle_exchange *x) { return evhttp_request_get_uri(x->req); }

const char *cle_exchange_header(const cle_exchange *x, const char *name) {
    return evhttp_find_header(evhttp_request_get_input_headers(x->req), name);
}

const struct evkeyval *cle_exchange_next_header(const cle_exchange *x, const struct evkeyval *prev) {
    /* evkeyvalq is a TAILQ; its macros live in sys/queue.h, which libevent may not expose */
    if (!prev) return evhttp_request_get_input_headers(x->req)->tqh_first;
    return prev->next.tqe_next;
}

const char *cle_header_key(const struct evkeyval *kv) { return kv->key; }
const char *cle_header_value(const struct evkeyval *kv) { return kv->value; }

const uint8_t *cle_exchange_body(cle_exchange *x, size_t *len) {
    if (!x->body) {
        struct evbuffer *in = evhttp_request_get_input_buffer(x->req);
        x->body_len = evbuffer_get_length(in);
        x->body = x->body_len ? evbuffer_pullup(in, -1) : (const uint8_t *)"";
    }
    *len = x->body_len;
    return x->body;
}

/* Removes every header but Connection: evhttp reads it when the reply ends (keep-alive or
   close). */
static void headers_keep_connection(struct evkeyvalq *headers) {
    struct evkeyval *kv = headers->tqh_first, *next;
    for (; kv; kv = next) {
        next = kv->next.tqe_next;
        if (evutil_ascii_strcasecmp(kv->key, "Connection") != 0) evhttp_remove_header(headers, kv->key);
    }
}

void cle_exchange_release_request(cle_exchange *x) {
    if (!x->req) return;
    struct evbuffer *in = evhttp_request_get_input_buffer(x->req);
    evbuffer_drain(in, evbuffer_get_length(in));
    x->body = NULL;
    x->body_len = 0;
    headers_keep_connection(evhttp_request_get_input_headers(x->req));
    if (x->streaming) headers_keep_connection(evhttp_request_get_output_headers(x->req));
}

void cle_exchange_add_header(cle_exchange *x, const char *name, const char *value) {
    evhttp_add_header(evhttp_request_get_output_headers(x->req), name, value);
}

// MARK: replies

/* evhttp queues a reply and writes it only once epoll reports the socket writable: one more
   trip round the loop and two epoll_ctl calls per reply. Write what is queued now instead; if
   it all went, run the bufferevent's write callback as its own write would have (evhttp then
   finishes the request, or does nothing for a chunk). Unfreeze/refreeze as libevent does
   around its own writes. The bufferevent may be freed by the callback: nothing touches it
   after. Returns 1 if the output is empty and the callback ran. */
static int write_now(struct bufferevent *bev) {
    struct evbuffer *out = bufferevent_get_output(bev);
    evutil_socket_t fd = bufferevent_getfd(bev);
    if (fd >= 0 && evbuffer_get_length(out)) {
        evbuffer_unfreeze(out, 1);
        evbuffer_write(out, fd);      /* EAGAIN or an error: the write event handles it as usual */
        evbuffer_freeze(out, 1);
    }
    if (evbuffer_get_length(out)) return 0;
    bufferevent_trigger(bev, EV_WRITE, 0);
    return 1;
}

static struct bufferevent *request_bev(struct evhttp_request *req) {
    struct evhttp_connection *evcon = req ? evhttp_request_get_connection(req) : NULL;
    return evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
}

/* Mid-stream: write the chunk now; once it is all out, stop the write event evhttp enabled
   (enabled and disabled in one pass, epoll never hears of it). */
static void write_chunk_now(cle_exchange *x) {
    struct bufferevent *bev = request_bev(x->req);
    if (bev && write_now(bev)) bufferevent_disable(bev, EV_WRITE);
}

/* Queues the exchange for cle_server_flush, which cle_loop_after_curl runs once curl
   returns, in the same loop pass. */
static void flush_soon(cle_exchange *x) {
    cle_loop *loop = x->loop;
    if (x->flush_pending) return;
    x->flush_pending = 1;
    x->busy++;                                  /* kept until flushed */
    x->flush_next = loop->flush;
    loop->flush = x;
}

void cle_server_flush(cle_loop *loop) {
    while (loop->flush) {
        cle_exchange *x = loop->flush;
        loop->flush = x->flush_next;
        x->flush_next = NULL;
        x->flush_pending = 0;
        held_send(x);
        write_chunk_now(x);                     /* no-op once the request is gone */
        x->busy--;
        exchange_maybe_free(x);
    }
}


void cle_exchange_reply(cle_exchange *x, int status, const uint8_t *body, size_t len) {
    exchange_unwatch(x);
    struct evbuffer *buf = evbuffer_new();
    if (buf && len) evbuffer_add(buf, body, len);
    struct bufferevent *bev = request_bev(x->req);
    evhttp_send_reply(x->req, status, NULL, buf);
    if (buf) evbuffer_free(buf);
    if (bev) write_now(bev);
    x->req = NULL;
    x->finished = 1;
    exchange_maybe_free(x);
}

void cle_exchange_reply_buffer(cle_exchange *x, int status, struct evbuffer *body) {
    exchange_unwatch(x);
    struct bufferevent *bev = request_bev(x->req);
    evhttp_send_reply(x->req, status, NULL, body);
    if (bev) write_now(bev);
    x->req = NULL;
    x->finished = 1;
    exchange_maybe_free(x);
}

void cle_exchange_stream_start(cle_exchange *x, int status, unsigned slots, unsigned low_mark,
                               size_t max_bytes, cle_callback on_drain) {
    cle_conn *c = x->conn;
    if (c && (!c->rd || !c->rd->armed)) {   /* a stream reads no head or body: see cle_reading */
        reading_free(c);
        if (c->input_cb) evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->input_cb);
        c->input_cb = NULL;
    }
    if (slots == 0) slots = 1;
    if (max_bytes == 0) max_bytes = 1;
    x->nslots = slots;
    x->low_mark = low_mark < slots ? low_mark : slots - 1;
    x->max_bytes = max_bytes;
    x->low_bytes = max_bytes / 4;
    x->on_drain = on_drain;
    x->streaming = 1;
    evhttp_send_reply_start(x->req, status, NULL);
    /* Inside curl the head waits for the first chunk, if this read brought one: one segment
       for both. */
    if (x->loop->in_curl) flush_soon(x);
    else write_chunk_now(x);
}

static int stream_is_full(const cle_exchange *x) {
    return x->queued >= x->nslots || x->queued_bytes >= x->max_bytes;
}

int cle_exchange_stream_full(const cle_exchange *x) { return stream_is_full(x); }

size_t cle_exchange_stream_queued_bytes(const cle_exchange *x) { return x->queued_bytes; }

unsigned cle_exchange_stream_queued(const cle_exchange *x) { return x->queued; }

/* The queue is full: the drain callback is owed once it empties to the low mark. */
static int stream_mark_full(cle_exchange *x) {
    x->was_full = 1;
    if (!x->drain_ev) x->drain_ev = event_new(x->loop->base, -1, 0, drain_event_cb, x);
    return x->drain_ev ? 0 : -1;
}

/* Makes room the way cle_exchange_stream_write would (held chunks sent first), without
   queueing anything: a caller that must look at the bytes before they go (capture) knows the
   write that follows will be taken. */
int cle_exchange_stream_reserve(cle_exchange *x) {
    if (!x->req || x->gone || x->finished) return -1;
    if (stream_is_full(x) && x->flush_pending) {
        x->busy++;
        held_send(x);
        write_chunk_now(x);
        x->busy--;
        if (!x->req || x->gone || x->finished) return -1;
    }
    if (stream_is_full(x)) {
        stream_mark_full(x);
        return -1;
    }
    return 0;
}

/* Drops the client's connection mid-stream: the close callback reports the client gone. */
static void stream_give_up(cle_exchange *x) {
    struct evhttp_connection *evcon = x->req ? evhttp_request_get_connection(x->req) : NULL;
    if (!evcon) return;
    x->busy++;
    evhttp_connection_free(evcon);
    x->busy--;
    exchange_maybe_free(x);
}

/* A chunk is copied once, into a slot that the client's output references until written
   (chunk_cleanup frees it). Given while curl runs, it is held instead: curl hands over an
   upstream read one chunk-encoded event at a time and keeps reading while the socket has
   more, so sending each at once meant an HTTP chunk, its printf'd header and a writev per
   event (four per read under load). What one curl action brought goes out as one HTTP chunk
   in one write once curl returns, in the same loop pass (cle_server_flush). The stream's
   first chunk goes at once, with the head: the first byte waits for nothing but the parse of
   the events it carries. */
int cle_exchange_stream_write(cle_exchange *x, const uint8_t *data, size_t len) {
    if (!x->req || x->gone || x->finished) return -1;
    if (len == 0) return 0;
    if (cle_exchange_stream_reserve(x) != 0) return -1;   /* held chunks first: writing frees slots */
    int hold = x->loop->in_curl && x->wrote_chunk;
    if (hold && !x->held && !(x->held = evbuffer_new())) hold = 0;
    uint8_t *copy = CLE_FAIL("stream_chunk") ? NULL : malloc(len);
    struct evbuffer *into = hold ? x->held : x->server->scratch;
    if (!copy || evbuffer_add_reference(into, copy, len, chunk_cleanup, x) != 0) {
        /* The stream cannot go on whole: end it as if the client had left (its `gone`
           callback fires and the transfer is cancelled), never a stall or a hole. */
        free(copy);
        stream_give_up(x);
        return -1;
    }
    memcpy(copy, data, len);   /* the one copy of these bytes */
    x->queued++;
    x->queued_bytes += len;
    x->server->stream_queued_bytes += len;
    if (stream_is_full(x)) stream_mark_full(x);
    if (hold) {
        flush_soon(x);
        return 0;
    }
    x->busy++;
    evhttp_send_reply_chunk(x->req, into);      /* moves the reference, no copy */
    write_chunk_now(x);                         /* the chunk may be released right here */
    x->wrote_chunk = 1;
    x->busy--;
    if (evbuffer_get_length(into)) evbuffer_drain(into, evbuffer_get_length(into));
    return 0;
}

void cle_exchange_stream_end(cle_exchange *x) {
    exchange_unwatch(x);
    /* A chunked reply ends with a last chunk written like any other; an unchunked one
       (an HTTP/1.0 client) may finish, and free its connection, inside the call. */
    struct bufferevent *bev = x->req && x->req->chunked ? request_bev(x->req) : NULL;
    held_send(x);                               /* what the last curl action brought, first */
    if (x->req) evhttp_send_reply_end(x->req);
    if (bev) write_now(bev);
    x->req = NULL;
    x->finished = 1;
    exchange_maybe_free(x);
}

void cle_exchange_abort(cle_exchange *x) {
    exchange_unwatch(x);
    struct evhttp_request *req = x->req;
    x->req = NULL;
    x->finished = 1;
    held_drop(x);
    if (req) {
        x->server->unfinished--;      /* freed below without completing */
        struct evhttp_connection *evcon = evhttp_request_get_connection(req);
        x->busy++;
        if (evcon) evhttp_connection_free(evcon);   /* frees req with it */
        else evhttp_request_free(req);
        x->busy--;
    }
    exchange_maybe_free(x);
}

void cle_exchange_watch(cle_exchange *x, cle_callback on_gone, void *ctx) {
    x->on_gone = on_gone;
    x->ctx = ctx;
    if (!x->req) return;
    cle_server *s = x->server;
    struct evhttp_connection *evcon = evhttp_request_get_connection(x->req);
    struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;
    if (conns_reserve(s, fd) != 0) return;
    cle_conn *c = s->conns[fd];
    if (!c || c->evcon != evcon) {
        /* a connection made without a conn (its allocation failed then): watched from here */
        c = conn_new(s, bev);
        if (!c) return;
        c->evcon = evcon;
        c->fd = fd;
        c->adopted = 1;
        c->phase = CONN_REQUEST;
        s->conns[fd] = c;
        evhttp_connection_set_closecb(evcon, connection_closed_cb, c);
    }
    if (!c->watch_assigned) {
        event_assign(c->watch, s->loop->base, fd, EV_READ | EV_PERSIST, watch_cb, c);
        c->watch_assigned = 1;
    }
    c->x = x;
    x->conn = c;
    if (!c->watching) c->watching = event_add(c->watch, NULL) == 0;
}
