// SHA-256's block function from libcrypto, for ThinkbackCore's SHA256 (cache keys, and the
// history digest that runs over a whole request's messages). Glue only.
#define OPENSSL_SUPPRESS_DEPRECATED   /* the SHA256_CTX API: deprecated in 3.0, kept and fast */
#include "cle_internal.h"
#include <openssl/sha.h>
#include <string.h>

void cle_sha256_blocks(uint32_t *h, const void *data, long blocks) {
    SHA256_CTX c;
    memset(&c, 0, sizeof c);
    for (int i = 0; i < 8; i++) c.h[i] = h[i];
    /* Whole blocks into an empty context: SHA256_Update hands them all to the block function
       in one call (no buffering, no per-block call); the length counters it keeps are unused. */
    if (blocks > 0) SHA256_Update(&c, data, (size_t)blocks * 64);
    for (int i = 0; i < 8; i++) h[i] = c.h[i];
}
