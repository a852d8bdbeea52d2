// The loop: one event_base, one curl multi handle driven by it (curl's hiperfifo shape:
// one struct per lifetime — the loop here, a transfer in cle_transfer.c, a socket below).
#include "cle_internal.h"
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <malloc.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* One curl socket: one persistent event, changed only when curl's wanted events change. When a
   transfer ends its connection goes back to curl's pool and curl stops watching the socket;
   the event is parked instead of deleted (registered for reading, which a healthy idle
   connection never is), and the next transfer on that connection finds it by descriptor: no
   epoll_ctl pair per request. A parked socket that turns readable (the upstream closed it) or
   that curl closes loses its event. */
typedef struct cle_sock {
    struct event *ev;
    short kind;
    unsigned parked : 1;
} cle_sock;

static const short PARKED_KIND = EV_READ | EV_PERSIST;

static void sock_free(cle_loop *loop, curl_socket_t s, cle_sock *sk) {
    if (sk->parked && s >= 0 && s < loop->parked_cap && loop->parked[s] == sk) loop->parked[s] = NULL;
    event_free(sk->ev);
    free(sk);
}

static void sock_event_cb(evutil_socket_t fd, short what, void *arg) {
    cle_loop *loop = arg;
    if (fd >= 0 && fd < loop->parked_cap && loop->parked[fd]) {
        sock_free(loop, fd, loop->parked[fd]);   /* curl notices the dead connection on reuse */
        return;
    }
    int action = ((what & EV_READ) ? CURL_CSELECT_IN : 0) | ((what & EV_WRITE) ? CURL_CSELECT_OUT : 0);
    loop->in_curl++;
    curl_multi_socket_action(loop->multi, fd, action, &loop->running);
    loop->in_curl--;
    cle_loop_after_curl(loop);
}

static void sock_set_kind(cle_loop *loop, curl_socket_t s, cle_sock *sk, short kind) {
    if (sk->kind == kind) return;
    event_del(sk->ev);
    event_assign(sk->ev, loop->base, s, kind, sock_event_cb, loop);
    sk->kind = kind;
    event_add(sk->ev, NULL);
}

static void sock_park(cle_loop *loop, curl_socket_t s, cle_sock *sk) {
    if (s >= loop->parked_cap) {
        int cap = loop->parked_cap ? loop->parked_cap : 256;
        while (cap <= s) cap *= 2;
        cle_sock **grown = realloc(loop->parked, (size_t)cap * sizeof *grown);
        if (!grown) { sock_free(loop, s, sk); return; }
        memset(grown + loop->parked_cap, 0, (size_t)(cap - loop->parked_cap) * sizeof *grown);
        loop->parked = grown;
        loop->parked_cap = cap;
    }
    if (loop->parked[s]) sock_free(loop, s, loop->parked[s]);   /* stale: its socket was reused */
    sock_set_kind(loop, s, sk, PARKED_KIND);
    sk->parked = 1;
    loop->parked[s] = sk;
}

int cle_loop_close_socket(void *arg, curl_socket_t fd) {
    cle_loop *loop = arg;
    if (fd >= 0 && fd < loop->parked_cap && loop->parked[fd]) sock_free(loop, fd, loop->parked[fd]);
    return close(fd);
}

/* CURLMOPT_SOCKETFUNCTION */
static int curl_socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp) {
    cle_loop *loop = userp;
    cle_sock *sk = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (!sk) return 0;
        /* Only a connection's own socket goes back to the pool with it: curl closes others
           (a resolver's wake-up pair) without the close callback, so they are never parked. */
        curl_socket_t active = CURL_SOCKET_BAD;
        if (easy) curl_easy_getinfo(easy, CURLINFO_ACTIVESOCKET, &active);
        if (active == s) sock_park(loop, s, sk);
        else sock_free(loop, s, sk);
        return 0;
    }
    short kind = (short)(((what & CURL_POLL_IN) ? EV_READ : 0) | ((what & CURL_POLL_OUT) ? EV_WRITE : 0) | EV_PERSIST);
    if (!sk && s >= 0 && s < loop->parked_cap && loop->parked[s]) {
        sk = loop->parked[s];
        loop->parked[s] = NULL;
        sk->parked = 0;
        curl_multi_assign(loop->multi, s, sk);
    }
    if (!sk) {
        sk = calloc(1, sizeof *sk);
        if (!sk) return -1;
        sk->ev = event_new(loop->base, s, kind, sock_event_cb, loop);
        if (!sk->ev) { free(sk); return -1; }
        sk->kind = kind;
        event_add(sk->ev, NULL);
        curl_multi_assign(loop->multi, s, sk);
    } else {
        sock_set_kind(loop, s, sk, kind);
    }
    return 0;
}

static void curl_timer_event_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd; (void)what;
    cle_loop *loop = arg;
    loop->in_curl++;
    curl_multi_socket_action(loop->multi, CURL_SOCKET_TIMEOUT, 0, &loop->running);
    loop->in_curl--;
    cle_loop_after_curl(loop);
}

/* CURLMOPT_TIMERFUNCTION: -1 deletes; 0 runs in this loop pass (active event, never a call
   from inside this callback, never a 1 ms timer); >0 arms the one timer. */
static int curl_timer_cb(CURLM *multi, long timeout_ms, void *userp) {
    (void)multi;
    cle_loop *loop = userp;
    if (timeout_ms < 0) {
        evtimer_del(loop->curl_timer);
    } else if (timeout_ms == 0) {
        evtimer_del(loop->curl_timer);
        event_active(loop->curl_timer, EV_TIMEOUT, 0);
    } else {
        struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
        evtimer_add(loop->curl_timer, &tv);
    }
    return 0;
}

cle_loop *cle_loop_new(void) {
    static int curl_ready = 0;
    if (!curl_ready) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return NULL;
        curl_ready = 1;
    }
    /* curl runs with CURLOPT_NOSIGNAL; a write to a closed socket must not kill us. */
    signal(SIGPIPE, SIG_IGN);
    /* Request bodies of hundreds of KB come and go per request: keep glibc from mapping and
       unmapping (and page-faulting) each one. Memory is kept for reuse instead. */
    mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);

    cle_failpoints_load();
    cle_loop *loop = calloc(1, sizeof *loop);
    if (!loop) return NULL;
    /* curl reads the proxy variables with getenv on every transfer. The environment does not
       change under a running process: look once, and when none is set say so to curl. */
    static const char *const proxy_vars[] = { "http_proxy", "https_proxy", "HTTPS_PROXY",
                                              "all_proxy", "ALL_PROXY" };
    loop->no_proxy_env = 1;
    for (size_t i = 0; i < sizeof proxy_vars / sizeof *proxy_vars; i++) {
        const char *v = getenv(proxy_vars[i]);
        if (v && *v) loop->no_proxy_env = 0;
    }
    struct event_config *cfg = event_config_new();
    if (!cfg) { free(loop); return NULL; }
    event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    loop->base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    if (!loop->base) { free(loop); return NULL; }
    loop->multi = curl_multi_init();
    loop->curl_timer = evtimer_new(loop->base, curl_timer_event_cb, loop);
    if (!loop->multi || !loop->curl_timer) { cle_loop_free(loop); return NULL; }
    curl_multi_setopt(loop->multi, CURLMOPT_SOCKETFUNCTION, curl_socket_cb);
    curl_multi_setopt(loop->multi, CURLMOPT_SOCKETDATA, loop);
    curl_multi_setopt(loop->multi, CURLMOPT_TIMERFUNCTION, curl_timer_cb);
    curl_multi_setopt(loop->multi, CURLMOPT_TIMERDATA, loop);
    curl_multi_setopt(loop->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    /* The default cache follows the number of transfers in flight and shrinks when they
       finish, closing pooled upstream connections under steady load: keep plenty. */
    curl_multi_setopt(loop->multi, CURLMOPT_MAXCONNECTS, 4096L);
    return loop;
}

int cle_loop_run(cle_loop *loop) { return event_base_loop(loop->base, 0); }

void cle_loop_break(cle_loop *loop) { event_base_loopbreak(loop->base); }

void cle_loop_free(cle_loop *loop) {
    cle_loop_drain_pool(loop);
    for (int i = 0; i < loop->nurls; i++) {
        curl_url_cleanup(loop->urls[i].handle);
        free(loop->urls[i].text);
    }
    if (loop->curl_timer) event_free(loop->curl_timer);
    if (loop->multi) curl_multi_cleanup(loop->multi);   /* closes pooled sockets, unparking them */
    for (int fd = 0; fd < loop->parked_cap; fd++)
        if (loop->parked[fd]) sock_free(loop, fd, loop->parked[fd]);
    free(loop->parked);
    if (loop->base) event_base_free(loop->base);
    free(loop);
}

struct event_base *cle_loop_base(cle_loop *loop) { return loop->base; }

int cle_loop_running_transfers(cle_loop *loop) { return loop->running; }

/* CLOCK_MONOTONIC, not libevent's cached time of day: durations and deadlines computed from
   it must never go backwards when the wall clock is stepped (NTP, an admin). */
uint64_t cle_loop_now_ms(cle_loop *loop) {
    (void)loop;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

// MARK: timers and signals

struct cle_timer {
    struct event *ev;
    cle_callback cb;
    void *ctx;
};

static void timer_event_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd; (void)what;
    cle_timer *timer = arg;
    timer->cb(timer->ctx);
}

cle_timer *cle_timer_new(cle_loop *loop, cle_callback cb, void *ctx) {
    cle_timer *timer = calloc(1, sizeof *timer);
    if (!timer) return NULL;
    timer->cb = cb;
    timer->ctx = ctx;
    timer->ev = evtimer_new(loop->base, timer_event_cb, timer);
    if (!timer->ev) { free(timer); return NULL; }
    return timer;
}

void cle_timer_arm(cle_timer *timer, uint64_t ms) {
    evtimer_del(timer->ev);
    if (ms == 0) {
        event_active(timer->ev, EV_TIMEOUT, 0);
    } else {
        struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };
        evtimer_add(timer->ev, &tv);
    }
}

void cle_timer_set_context(cle_timer *timer, void *ctx) { timer->ctx = ctx; }

void cle_timer_cancel(cle_timer *timer) { evtimer_del(timer->ev); }

void cle_timer_free(cle_timer *timer) {
    event_free(timer->ev);
    free(timer);
}

struct cle_signal {
    struct event *ev;
    cle_callback cb;
    void *ctx;
};

static void signal_event_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd; (void)what;
    cle_signal *sig = arg;
    sig->cb(sig->ctx);
}

cle_signal *cle_signal_new(cle_loop *loop, int signo, cle_callback cb, void *ctx) {
    cle_signal *sig = calloc(1, sizeof *sig);
    if (!sig) return NULL;
    sig->cb = cb;
    sig->ctx = ctx;
    sig->ev = evsignal_new(loop->base, signo, signal_event_cb, sig);
    if (!sig->ev || event_add(sig->ev, NULL) != 0) {
        if (sig->ev) event_free(sig->ev);
        free(sig);
        return NULL;
    }
    return sig;
}

void cle_signal_set_context(cle_signal *sig, void *ctx) { sig->ctx = ctx; }

void cle_signal_free(cle_signal *sig) {
    event_free(sig->ev);
    free(sig);
}

int cle_thread_set_nice(int nice) {
    return setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), nice);
}
