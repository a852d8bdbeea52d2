// SHA-256's block function from libcrypto, for ThinkbackCore's SHA256 (cache keys are
// SHA-256/HMAC-SHA-256: a few blocks per restored message). Glue only.
#define OPENSSL_SUPPRESS_DEPRECATED   /* SHA256_Transform: deprecated in 3.0, kept and fast */
#include "cle_internal.h"
#include <openssl/sha.h>
#include <string.h>

void cle_sha256_blocks(uint32_t *h, const void *data, long blocks) {
    SHA256_CTX c;
    memset(&c, 0, sizeof c);
    for (int i = 0; i < 8; i++) c.h[i] = h[i];
    const unsigned char *p = data;
    for (long i = 0; i < blocks; i++) SHA256_Transform(&c, p + 64 * i);
    for (int i = 0; i < 8; i++) h[i] = c.h[i];
}
