/*
 * loadclient: keeps N HTTP/1.1 POSTs (usually SSE streams) in flight against one URL and
 * measures what wrk cannot: the first body byte of each answer and the `data:` events.
 *
 *   loadclient --url URL --body FILE [-H 'Name: value']... --conns N
 *              [--warmup S] [--duration S]        closed loop: each finished stream is replaced
 *              [--idle --hold S]                  open N streams, print "ready N", hold them
 *
 * Closed loop: results count only what happens in the measuring window after the warm-up.
 * First byte = time from the request being handed to the socket (curl's first read of the
 * request body, CURLOPT_READFUNCTION) to the first byte of the response body
 * (CURLOPT_WRITEFUNCTION). Events = lines starting with "data:" in the body.
 * Output: one JSON object on stdout.
 *
 * curl_multi driven by curl_multi_socket_action over epoll (curl's docs/examples/ephiperfifo.c
 * shape): one epoll registration per socket, one deadline for curl's timer. Connections are
 * kept alive and reused; easy handles are reused. Only 127.0.0.1 is contacted (no proxies).
 */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    CURL *easy;
    size_t sent;          /* request body bytes handed to curl */
    double t_sent;        /* first CURLOPT_READFUNCTION call, ms */
    double t_first;       /* first CURLOPT_WRITEFUNCTION call, ms (0: none yet) */
    int match;            /* bytes of "data:" matched at the start of the current line, -1: mid-line */
    long events;
} Xfer;

static CURLM *multi;
static int epfd;
static double timer_at = -1;   /* curl's timer deadline, ms; -1: none */
static char *body;
static size_t body_len;
static double win_start, win_end;
static volatile sig_atomic_t stop_flag;

static long done_streams, errors, bad_status, events_total, opened, failed_early;
static double *fb;
static size_t fb_n, fb_cap;

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int in_window(double t) { return t >= win_start && t < win_end; }

/* This process's user + system CPU, ms: the bench subtracts it when it works out the noise. */
static double cpu_ms(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static void fb_add(double v) {
    if (fb_n == fb_cap) {
        fb_cap = fb_cap ? fb_cap * 2 : 65536;
        fb = realloc(fb, fb_cap * sizeof *fb);
        if (!fb) { perror("realloc"); exit(1); }
    }
    fb[fb_n++] = v;
}

/* CURLOPT_READFUNCTION */
static size_t read_cb(char *buf, size_t size, size_t n, void *p) {
    Xfer *x = p;
    if (x->sent == 0) x->t_sent = now_ms();
    size_t left = body_len - x->sent, k = size * n < left ? size * n : left;
    memcpy(buf, body + x->sent, k);
    x->sent += k;
    return k;
}

/* CURLOPT_SEEKFUNCTION: curl rewinds when it resends on a fresh connection. */
static int seek_cb(void *p, curl_off_t off, int origin) {
    Xfer *x = p;
    if (origin != SEEK_SET || off < 0 || (size_t)off > body_len) return CURL_SEEKFUNC_CANTSEEK;
    x->sent = (size_t)off;
    return CURL_SEEKFUNC_OK;
}

/* CURLOPT_WRITEFUNCTION */
static size_t write_cb(char *d, size_t size, size_t n, void *p) {
    Xfer *x = p;
    size_t len = size * n;
    if (x->t_first == 0) {
        x->t_first = now_ms();
        opened++;
        if (in_window(x->t_first)) fb_add(x->t_first - x->t_sent);
    }
    static const char tag[] = "data:";
    long ev = 0;
    for (size_t i = 0; i < len; i++) {
        char c = d[i];
        if (c == '\n') { x->match = 0; continue; }
        if (x->match < 0) continue;
        if (c == tag[x->match]) {
            if (++x->match == 5) { ev++; x->match = -1; }
        } else {
            x->match = -1;
        }
    }
    x->events += ev;
    if (in_window(now_ms())) events_total += ev;
    return len;
}

/* CURLMOPT_SOCKETFUNCTION */
static int socket_cb(CURL *e, curl_socket_t s, int what, void *userp, void *socketp) {
    (void)e; (void)userp;
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(epfd, EPOLL_CTL_DEL, s, NULL);
        return 0;
    }
    struct epoll_event ev = {0};
    ev.data.fd = s;
    if (what & CURL_POLL_IN) ev.events |= EPOLLIN;
    if (what & CURL_POLL_OUT) ev.events |= EPOLLOUT;
    int op = socketp ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (epoll_ctl(epfd, op, s, &ev) != 0) {
        /* A reused descriptor number, or one curl never told us about: try the other verb. */
        if (epoll_ctl(epfd, op == EPOLL_CTL_ADD ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, s, &ev) != 0) perror("epoll_ctl");
    }
    if (!socketp) curl_multi_assign(multi, s, (void *)1);
    return 0;
}

/* CURLMOPT_TIMERFUNCTION: store the deadline; the loop calls curl when it passes. */
static int timer_cb(CURLM *m, long timeout_ms, void *userp) {
    (void)m; (void)userp;
    timer_at = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
    return 0;
}

static void start(Xfer *x) {
    x->sent = 0;
    x->t_sent = x->t_first = 0;
    x->match = 0;
    x->events = 0;
    CURLMcode rc = curl_multi_add_handle(multi, x->easy);
    if (rc != CURLM_OK) { fprintf(stderr, "loadclient: add_handle: %s\n", curl_multi_strerror(rc)); exit(1); }
}

static void check_done(int restart) {
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(multi, &left))) {
        if (msg->msg != CURLMSG_DONE) continue;
        Xfer *x;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        long status = 0;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
        double t = now_ms();
        if (in_window(t)) {
            if (msg->data.result != CURLE_OK) errors++;
            else if (status != 200) bad_status++;
            else done_streams++;
        }
        if (msg->data.result != CURLE_OK && errors < 5 && in_window(t))
            fprintf(stderr, "loadclient: %s\n", curl_easy_strerror(msg->data.result));
        if (x->t_first == 0) failed_early++;  /* ended before any body byte */
        curl_multi_remove_handle(multi, x->easy);
        if (restart) start(x);
    }
}

static void on_signal(int sig) { (void)sig; stop_flag = 1; }

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double pct(double p) {
    if (fb_n == 0) return 0;
    size_t i = (size_t)(p / 100.0 * fb_n);
    if (i >= fb_n) i = fb_n - 1;
    return fb[i];
}

static void usage(void) {
    fprintf(stderr, "usage: loadclient --url URL --body FILE [-H 'Name: value']... --conns N\n"
                    "                  [--warmup S] [--duration S] [--ramp PER_10MS] [--idle --hold S]\n");
    exit(2);
}

int main(int argc, char **argv) {
    const char *url = NULL, *body_file = NULL;
    struct curl_slist *headers = NULL;
    int conns = 64, idle = 0, ramp = 200;
    double warmup = 2, duration = 10, hold = 3600;
    headers = curl_slist_append(headers, "Expect:");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--idle")) { idle = 1; continue; }
        if (!v) usage();
        if (!strcmp(a, "--url")) url = v;
        else if (!strcmp(a, "--body")) body_file = v;
        else if (!strcmp(a, "-H")) headers = curl_slist_append(headers, v);
        else if (!strcmp(a, "--conns")) conns = atoi(v);
        else if (!strcmp(a, "--warmup")) warmup = atof(v);
        else if (!strcmp(a, "--duration")) duration = atof(v);
        else if (!strcmp(a, "--hold")) hold = atof(v);
        else if (!strcmp(a, "--ramp")) ramp = atoi(v);
        else usage();
        i++;
    }
    if (!url || !body_file || conns <= 0 || ramp <= 0) usage();
    if (strncmp(url, "http://127.0.0.1:", 17) != 0) { fprintf(stderr, "loadclient: only http://127.0.0.1 URLs\n"); return 2; }

    FILE *f = fopen(body_file, "rb");
    if (!f) { perror(body_file); return 1; }
    fseek(f, 0, SEEK_END);
    body_len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    body = malloc(body_len + 1);
    if (fread(body, 1, body_len, f) != body_len) { perror("fread"); return 1; }
    fclose(f);

    signal(SIGPIPE, SIG_IGN);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    epfd = epoll_create1(EPOLL_CLOEXEC);
    multi = curl_multi_init();
    curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, (long)conns + 16);

    Xfer *xs = calloc((size_t)conns, sizeof *xs);
    for (int i = 0; i < conns; i++) {
        CURL *e = curl_easy_init();
        xs[i].easy = e;
        curl_easy_setopt(e, CURLOPT_URL, url);
        curl_easy_setopt(e, CURLOPT_PROXY, "");
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
        curl_easy_setopt(e, CURLOPT_POST, 1L);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
        curl_easy_setopt(e, CURLOPT_READFUNCTION, read_cb);
        curl_easy_setopt(e, CURLOPT_READDATA, &xs[i]);
        curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, seek_cb);
        curl_easy_setopt(e, CURLOPT_SEEKDATA, &xs[i]);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, &xs[i]);
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(e, CURLOPT_PRIVATE, &xs[i]);
        curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 16384L);
    }

    double t0 = now_ms();
    win_start = idle ? 0 : t0 + warmup * 1e3;
    win_end = idle ? 1e300 : win_start + duration * 1e3;
    int added = 0, ready_printed = 0;
    double next_ramp = t0, ready_at = 0;
    struct epoll_event evs[512];
    int running = 0;
    double cpu_at_start = -1, cpu_in_window = 0;
    for (;;) {
        double t = now_ms();
        if (cpu_at_start < 0 && t >= win_start) cpu_at_start = cpu_ms();
        if (added < conns && t >= next_ramp) {
            for (int k = 0; k < ramp && added < conns; k++) start(&xs[added++]);
            next_ramp = t + 10;
        }
        if (!idle && t >= win_end) {
            cpu_in_window = cpu_ms() - cpu_at_start;
            break;
        }
        if (idle) {
            if (!ready_printed && added == conns && opened + failed_early >= conns) {
                printf("ready %ld\n", opened);
                fflush(stdout);
                ready_printed = 1;
                ready_at = t;
            }
            if (stop_flag || (ready_printed && t - ready_at >= hold * 1e3)) break;
        } else if (stop_flag) break;

        double wait = 100;
        if (timer_at >= 0) wait = timer_at - t < wait ? timer_at - t : wait;
        if (added < conns) wait = next_ramp - t < wait ? next_ramp - t : wait;
        if (!idle && win_end - t < wait) wait = win_end - t;
        int n = epoll_wait(epfd, evs, 512, wait <= 0 ? 0 : (int)(wait + 0.999));
        if (n < 0 && errno != EINTR) { perror("epoll_wait"); return 1; }
        for (int i = 0; i < n; i++) {
            int flags = 0;
            if (evs[i].events & (EPOLLIN | EPOLLHUP)) flags |= CURL_CSELECT_IN;
            if (evs[i].events & EPOLLOUT) flags |= CURL_CSELECT_OUT;
            if (evs[i].events & EPOLLERR) flags |= CURL_CSELECT_ERR;
            curl_multi_socket_action(multi, evs[i].data.fd, flags, &running);
        }
        if (timer_at >= 0 && now_ms() >= timer_at) {
            timer_at = -1;
            curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
        }
        check_done(!idle);
    }

    if (idle) {
        printf("{\"mode\":\"idle\",\"conns\":%d,\"opened\":%ld,\"failed\":%ld,\"errors\":%ld,\"bad_status\":%ld}\n",
               conns, opened, failed_early, errors, bad_status);
        return 0;  /* exiting closes every connection */
    }
    qsort(fb, fb_n, sizeof *fb, cmp_double);
    double secs = (win_end - win_start) / 1e3;
    printf("{\"mode\":\"closed\",\"conns\":%d,\"seconds\":%.3f,\"streams\":%ld,\"streams_per_s\":%.1f,"
           "\"cpu_ms\":%.1f,\"events\":%ld,\"events_per_s\":%.1f,\"events_per_stream\":%.1f,\"errors\":%ld,\"bad_status\":%ld,"
           "\"fb_samples\":%zu,\"fb_ms\":{\"p10\":%.3f,\"p25\":%.3f,\"p50\":%.3f,\"p75\":%.3f,\"p90\":%.3f,"
           "\"p95\":%.3f,\"p99\":%.3f,\"p99.9\":%.3f,\"max\":%.3f}}\n",
           conns, secs, done_streams, done_streams / secs, cpu_in_window, events_total, events_total / secs,
           done_streams ? (double)events_total / done_streams : 0.0, errors, bad_status, fb_n,
           pct(10), pct(25), pct(50), pct(75), pct(90), pct(95), pct(99), pct(99.9), fb_n ? fb[fb_n - 1] : 0.0);
    return 0;
}
