// hiredis (0.14, Debian) async client on the loop's event_base through hiredis's libevent
// adapter. Glue only: connect, send argv commands, hand replies and connection events to the
// owner. The adapter's functions are header-only statics, so they are instantiated here.
//
// Lifetimes: hiredis frees its context itself after a failed connect (onConnect(ERR)) and
// after a disconnect (onDisconnect); we then forget it. The cle_redis wrapper belongs to the
// owner (cle_redis_free), and is never freed from inside one of hiredis's callbacks.

#include "cle_internal.h"
#include <stdlib.h>
#include <string.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libevent.h>

struct cle_redis {
    cle_loop *loop;
    redisAsyncContext *ac;     // NULL when not connected (hiredis owns and frees it)
    cle_redis_event_cb on_event;
    cle_redis_reply_cb on_reply;
    void *ctx;
    int silent;                // set while freeing: no more calls into the owner
};

cle_redis *cle_redis_new(cle_loop *loop, cle_redis_event_cb on_event, cle_redis_reply_cb on_reply, void *ctx) {
    cle_redis *r = calloc(1, sizeof(*r));
    if (!r) return NULL;
    r->loop = loop;
    r->on_event = on_event;
    r->on_reply = on_reply;
    r->ctx = ctx;
    return r;
}

/* redisConnectCallback */
static void cle_redis_connected(const redisAsyncContext *ac, int status) {
    cle_redis *r = ac->data;
    if (!r) return;
    if (status != REDIS_OK) r->ac = NULL; // hiredis frees it after this callback
    if (!r->silent) r->on_event(r->ctx, status == REDIS_OK ? CLE_REDIS_UP : CLE_REDIS_DOWN);
}

/* redisDisconnectCallback */
static void cle_redis_disconnected(const redisAsyncContext *ac, int status) {
    (void)status;
    cle_redis *r = ac->data;
    if (!r) return;
    r->ac = NULL; // hiredis frees it after this callback
    if (!r->silent) r->on_event(r->ctx, CLE_REDIS_DOWN);
}

/* redisCallbackFn: one per command sent; reply NULL when the connection went away first */
static void cle_redis_replied(redisAsyncContext *ac, void *reply, void *privdata) {
    (void)ac;
    cle_redis *r = privdata;
    if (!r->silent) r->on_reply(r->ctx, reply);
}

void cle_redis_set_context(cle_redis *r, void *ctx) {
    r->ctx = ctx;
}

int cle_redis_connect(cle_redis *r, const char *host, int port) {
    if (r->ac) return -1;
    redisAsyncContext *ac = redisAsyncConnect(host, port);
    if (!ac) return -1;
    if (ac->err) {
        redisAsyncFree(ac);
        return -1;
    }
    ac->data = r;
    if (redisLibeventAttach(ac, cle_loop_base(r->loop)) != REDIS_OK) {
        redisAsyncFree(ac);
        return -1;
    }
    redisAsyncSetConnectCallback(ac, cle_redis_connected);
    redisAsyncSetDisconnectCallback(ac, cle_redis_disconnected);
    r->ac = ac;
    return 0;
}

int cle_redis_command(cle_redis *r, int argc, const char *const *argv, const size_t *argvlen) {
    if (!r->ac) return -1;
    return redisAsyncCommandArgv(r->ac, cle_redis_replied, r, argc, (const char **)argv, argvlen) == REDIS_OK ? 0 : -1;
}

void cle_redis_disconnect(cle_redis *r) {
    if (r->ac) redisAsyncDisconnect(r->ac);
}

void cle_redis_drop(cle_redis *r) {
    if (!r->ac) return;
    redisAsyncContext *ac = r->ac;
    r->ac = NULL;
    ac->data = NULL;
    // Pending commands still get their (NULL) reply, through privdata.
    redisAsyncFree(ac);
}

void cle_redis_free(cle_redis *r) {
    r->silent = 1;
    cle_redis_drop(r);
    free(r);
}
