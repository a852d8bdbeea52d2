#ifndef CLE_INTERNAL_H
#define CLE_INTERNAL_H
#include "CLibEvent.h"

typedef struct cle_transfer cle_transfer;

struct cle_loop {
    struct event_base *base;
    CURLM *multi;
    struct event *curl_timer;       /* CURLMOPT_TIMERFUNCTION's one non-repeating timer */
    int running;                    /* transfers curl reports as running */
    int in_curl;                    /* >0 while inside curl_multi_socket_action or a pause */
    cle_transfer *reap;             /* transfers aborted inside a curl callback */
    cle_transfer *pool;             /* finished transfers whose easy handles can be reused */
    int pool_size;
};

/* Retires finished transfers and frees aborted ones: after every curl call. */
void cle_loop_after_curl(cle_loop *loop);
/* Frees a transfer or returns its easy handle to the loop's pool. */
void cle_transfer_release(cle_transfer *t);
/* Frees the pooled easy handles. */
void cle_loop_drain_pool(cle_loop *loop);

#endif
