// One upstream transfer: an easy handle on the loop's multi handle. Found from curl through
// CURLOPT_PRIVATE; retired only by cle_loop_after_curl (check_multi_info).
#include "cle_internal.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { CLE_POOL_MAX = 256, CLE_UPLOAD_BUFFER_DEFAULT = 64 * 1024, CLE_UPLOAD_BUFFER_MAX = 1024 * 1024 };

struct cle_transfer {
    cle_loop *loop;
    CURL *easy;
    struct curl_slist *headers;
    cle_transfer_callbacks cbs;
    void *ctx;
    struct event *resume_ev;  /* created on the first resume: most transfers never pause */
    curl_off_t body_len;
    const cle_body_part *parts; /* a gathered body (cle_transfer_options.parts), else NULL */
    size_t nparts;
    size_t part;                /* read position: part index and offset in it */
    size_t part_off;
    cle_transfer *next;       /* reap list or pool */
    unsigned in_multi : 1;
    unsigned aborted : 1;
    unsigned done : 1;
};

/* CURLOPT_HEADERFUNCTION */
static size_t header_cb(char *buf, size_t size, size_t n, void *userp) {
    cle_transfer *t = userp;
    size_t len = size * n;
    if (t->aborted) return 0;
    t->cbs.on_header(t->ctx, buf, len);
    return t->aborted ? 0 : len;
}

/* CURLOPT_WRITEFUNCTION */
static size_t write_cb(char *buf, size_t size, size_t n, void *userp) {
    cle_transfer *t = userp;
    size_t len = size * n;
    if (t->aborted) return 0;
    int taken = t->cbs.on_data(t->ctx, (const uint8_t *)buf, len);
    if (t->aborted) return 0;
    return taken ? len : CURL_WRITEFUNC_PAUSE;
}

/* CURLOPT_READFUNCTION for a gathered body: the next bytes of the parts, in order. */
static size_t read_parts_cb(char *buf, size_t size, size_t n, void *userp) {
    cle_transfer *t = userp;
    size_t room = size * n, out = 0;
    while (out < room && t->part < t->nparts) {
        const cle_body_part *p = &t->parts[t->part];
        size_t k = p->len - t->part_off;
        if (k > room - out) k = room - out;
        if (k) memcpy(buf + out, p->data + t->part_off, k);
        out += k;
        t->part_off += k;
        if (t->part_off == p->len) {
            t->part++;
            t->part_off = 0;
        }
    }
    return out;
}

/* CURLOPT_SEEKFUNCTION: curl rewinds the body when it sends the request again (a reused
   connection that turned out closed). */
static int seek_parts_cb(void *userp, curl_off_t offset, int origin) {
    cle_transfer *t = userp;
    if (origin != SEEK_SET || offset < 0 || offset > t->body_len) return CURL_SEEKFUNC_CANTSEEK;
    size_t left = (size_t)offset, i = 0;
    while (i < t->nparts && left >= t->parts[i].len) {
        left -= t->parts[i].len;
        i++;
    }
    t->part = i;
    t->part_off = left;
    return CURL_SEEKFUNC_OK;
}

static void resume_event_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd; (void)what;
    cle_transfer *t = arg;
    if (t->aborted || t->done || !t->in_multi) return;
    cle_loop *loop = t->loop;
    loop->in_curl++;
    curl_easy_pause(t->easy, CURLPAUSE_CONT);
    loop->in_curl--;
    cle_loop_after_curl(loop);
}

cle_transfer *cle_transfer_new(cle_loop *loop, const cle_transfer_callbacks *cbs, void *ctx) {
    cle_transfer *t = loop->pool;
    if (t) {
        loop->pool = t->next;
        loop->pool_size--;
        curl_easy_reset(t->easy);
    } else {
        t = calloc(1, sizeof *t);
        if (!t) return NULL;
        t->easy = curl_easy_init();
        if (!t->easy) {
            free(t);
            return NULL;
        }
    }
    t->loop = loop;
    t->cbs = *cbs;
    t->ctx = ctx;
    t->headers = NULL;
    t->next = NULL;
    t->in_multi = 0;
    t->aborted = 0;
    t->done = 0;
    return t;
}

int cle_transfer_add_header(cle_transfer *t, const char *line) {
    struct curl_slist *l = curl_slist_append(t->headers, line);
    if (!l) return -1;
    t->headers = l;
    return 0;
}

int cle_transfer_add_header_kv(cle_transfer *t, const char *name, const char *value) {
    char stack[512];
    size_t nl = strlen(name), vl = strlen(value), n = nl + 2 + vl + 1;
    char *line = n <= sizeof stack ? stack : malloc(n);
    if (!line) return -1;
    memcpy(line, name, nl);
    line[nl] = ':';
    line[nl + 1] = ' ';
    memcpy(line + nl + 2, value, vl + 1);
    int rc = cle_transfer_add_header(t, line);   /* curl copies the line */
    if (line != stack) free(line);
    return rc;
}

/* A parsed URL handle for `url`, made once per distinct URL (a proxy talks to a handful), or
   NULL when the cache is full or curl cannot parse it (then CURLOPT_URL reports the error). */
static CURLU *parsed_url(cle_loop *loop, const char *url) {
    for (int i = 0; i < loop->nurls; i++)
        if (strcmp(loop->urls[i].text, url) == 0) return loop->urls[i].handle;
    if (loop->nurls == CLE_URL_CACHE) return NULL;
    CURLU *h = curl_url();
    char *text = strdup(url);
    if (!h || !text || curl_url_set(h, CURLUPART_URL, url, 0) != CURLUE_OK) {
        if (h) curl_url_cleanup(h);
        free(text);
        return NULL;
    }
    loop->urls[loop->nurls].text = text;
    loop->urls[loop->nurls].handle = h;
    loop->nurls++;
    return h;
}

int cle_transfer_start(cle_transfer *t, const cle_transfer_options *o) {
    CURL *e = t->easy;
    /* curl parses CURLOPT_URL on every transfer; a pre-parsed handle is only copied. */
    CURLU *u = parsed_url(t->loop, o->url);
    if (u) curl_easy_setopt(e, CURLOPT_CURLU, u);
    else curl_easy_setopt(e, CURLOPT_URL, o->url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, t);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, cle_loop_close_socket);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, t->loop);
    if (t->loop->no_proxy_env) {
        curl_easy_setopt(e, CURLOPT_PROXY, "");     /* what curl would conclude, without getenv */
        curl_easy_setopt(e, CURLOPT_NOPROXY, "");
    }
    /* curl allocates this buffer per transfer (and frees it when done): an idle stream holds
       it for its whole life, so streams get a small one. */
    if (o->receive_buffer_bytes > 0) curl_easy_setopt(e, CURLOPT_BUFFERSIZE, o->receive_buffer_bytes);
    t->body_len = o->is_post ? (curl_off_t)o->body_len : 0;
    t->parts = NULL;
    t->nparts = t->part = t->part_off = 0;
    if (o->is_post) {
        curl_easy_setopt(e, CURLOPT_POST, 1L);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)o->body_len);
        if (o->parts) {
            t->parts = o->parts;
            t->nparts = o->nparts;
            curl_easy_setopt(e, CURLOPT_READFUNCTION, read_parts_cb);
            curl_easy_setopt(e, CURLOPT_READDATA, t);
            curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, seek_parts_cb);
            curl_easy_setopt(e, CURLOPT_SEEKDATA, t);
        } else {
            curl_easy_setopt(e, CURLOPT_POSTFIELDS, o->body ? (const char *)o->body : "");
        }
        /* Bodies past 64 KiB go out through curl's upload buffer, 64 KiB per loop pass by
           default: a 200 KB history took four passes. Size it to the body (curl caps it). */
        if (o->body_len > CLE_UPLOAD_BUFFER_DEFAULT)
            curl_easy_setopt(e, CURLOPT_UPLOAD_BUFFERSIZE,
                             (long)(o->body_len < CLE_UPLOAD_BUFFER_MAX ? o->body_len : CLE_UPLOAD_BUFFER_MAX));
    } else {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    }
    /* Pooled handles keep options: set (or clear) the method every time. */
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, o->custom_method);
    if (t->headers) curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
    if (o->connect_timeout_ms > 0) curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms);
    if (o->total_timeout_ms > 0) curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, o->total_timeout_ms);
    if (o->low_speed_seconds > 0) {
        curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, o->low_speed_seconds);
    }
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, o->verify_tls ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, o->verify_tls ? 2L : 0L);
    if (o->http2) {
        curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
        curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
    } else {
        curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    }
    CURLMcode rc = curl_multi_add_handle(t->loop->multi, e);
    if (rc != CURLM_OK) {
        cle_transfer_release(t);
        return (int)rc;
    }
    t->in_multi = 1;
    return 0;
}

long cle_transfer_status(cle_transfer *t) {
    long code = 0;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
    return code;
}

long long cle_transfer_pretransfer_us(cle_transfer *t) {
    curl_off_t us = 0;
    curl_easy_getinfo(t->easy, CURLINFO_PRETRANSFER_TIME_T, &us);
    return (long long)us;
}

int cle_transfer_release_upload(cle_transfer *t) {
    curl_off_t sent = 0;
    if (t->body_len > 0) curl_easy_getinfo(t->easy, CURLINFO_SIZE_UPLOAD_T, &sent);
    if (sent < t->body_len) return 0;
    if (t->headers) {
        /* the request has left: curl builds no other from this list (no redirects, no auth
           rounds), but it must not keep a pointer to it */
        curl_easy_setopt(t->easy, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
        curl_slist_free_all(t->headers);
        t->headers = NULL;
    }
    return 1;
}

void cle_transfer_resume(cle_transfer *t) {
    if (t->aborted || t->done) return;
    if (!t->resume_ev) t->resume_ev = event_new(t->loop->base, -1, 0, resume_event_cb, t);
    if (t->resume_ev) event_active(t->resume_ev, EV_TIMEOUT, 0);
}

void cle_transfer_abort(cle_transfer *t) {
    if (t->aborted || t->done) return;
    t->aborted = 1;
    cle_loop *loop = t->loop;
    if (loop->in_curl) {
        /* Inside one of curl's callbacks: curl forbids removing the handle here. The write
           and header callbacks now refuse data; the handle goes as soon as curl returns. */
        t->next = loop->reap;
        loop->reap = t;
        return;
    }
    if (t->in_multi) {
        curl_multi_remove_handle(loop->multi, t->easy);
        t->in_multi = 0;
    }
    cle_transfer_release(t);
}

void cle_transfer_release(cle_transfer *t) {
    cle_loop *loop = t->loop;
    if (t->resume_ev) event_del(t->resume_ev);
    if (t->headers) {
        curl_slist_free_all(t->headers);
        t->headers = NULL;
    }
    t->cbs.on_header = NULL;
    t->ctx = NULL;
    if (loop->pool_size < CLE_POOL_MAX) {
        t->next = loop->pool;
        loop->pool = t;
        loop->pool_size++;
    } else {
        curl_easy_cleanup(t->easy);
        if (t->resume_ev) event_free(t->resume_ev);
        free(t);
    }
}

void cle_loop_drain_pool(cle_loop *loop) {
    while (loop->pool) {
        cle_transfer *t = loop->pool;
        loop->pool = t->next;
        curl_easy_cleanup(t->easy);
        if (t->resume_ev) event_free(t->resume_ev);
        free(t);
    }
    loop->pool_size = 0;
}

void cle_loop_after_curl(cle_loop *loop) {
    if (loop->in_curl) return;
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(loop->multi, &left))) {
        if (msg->msg != CURLMSG_DONE) continue;
        CURL *easy = msg->easy_handle;
        CURLcode result = msg->data.result;
        cle_transfer *t = NULL;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&t);
        curl_multi_remove_handle(loop->multi, easy);
        if (!t) continue;
        t->in_multi = 0;
        if (t->aborted) continue;   /* freed from the reap list below */
        t->done = 1;
        t->cbs.on_done(t->ctx, (int)result);
        cle_transfer_release(t);
    }
    while (loop->reap) {
        cle_transfer *t = loop->reap;
        loop->reap = t->next;
        if (t->in_multi) {
            curl_multi_remove_handle(loop->multi, t->easy);
            t->in_multi = 0;
        }
        cle_transfer_release(t);
    }
    if (loop->flush) cle_server_flush(loop);
}

const char *cle_curl_strerror(int code) { return curl_easy_strerror((CURLcode)code); }
