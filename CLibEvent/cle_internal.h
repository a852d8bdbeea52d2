#ifndef CLE_INTERNAL_H
#define CLE_INTERNAL_H
#include "CLibEvent.h"

typedef struct cle_transfer cle_transfer;

enum { CLE_URL_CACHE = 16 };

struct cle_loop {
    struct event_base *base;
    CURLM *multi;
    struct event *curl_timer;       /* CURLMOPT_TIMERFUNCTION's one non-repeating timer */
    int running;                    /* transfers curl reports as running */
    int in_curl;                    /* >0 while inside curl_multi_socket_action or a pause */
    cle_transfer *reap;             /* transfers aborted inside a curl callback */
    cle_transfer *pool;             /* finished transfers whose easy handles can be reused */
    int pool_size;
    int no_proxy_env;               /* no *_proxy variable set: tell curl, which looks per transfer */
    struct cle_parsed_url {         /* upstream URLs parsed once (CURLOPT_CURLU), by text */
        char *text;
        CURLU *handle;
    } urls[CLE_URL_CACHE];
    int nurls;
    struct cle_sock **parked;       /* by fd: pooled upstream sockets whose event stays registered */
    int parked_cap;
    cle_exchange *flush;            /* streams with chunks queued inside curl callbacks */
};

/* Retires finished transfers and frees aborted ones, then writes what the streams were given
   meanwhile: after every curl call. */
void cle_loop_after_curl(cle_loop *loop);
/* Writes the chunks queued for each stream while curl ran (cle_server.c). */
void cle_server_flush(cle_loop *loop);
/* Frees a transfer or returns its easy handle to the loop's pool. */
void cle_transfer_release(cle_transfer *t);
/* CURLOPT_CLOSESOCKETFUNCTION: forgets a parked socket's event, then closes the socket. */
int cle_loop_close_socket(void *loop, curl_socket_t fd);
/* Frees the pooled easy handles. */
void cle_loop_drain_pool(cle_loop *loop);

/* THINKBACK_FAILPOINTS="name:N,…" (tests only): the named allocation fails from its Nth
   call on. CLE_FAIL(name) costs a load and a branch when none is set. */
extern int cle_failpoints_on;
void cle_failpoints_load(void);
#define CLE_FAIL(name) (cle_failpoints_on && cle_failpoint_hit(name))

#endif
