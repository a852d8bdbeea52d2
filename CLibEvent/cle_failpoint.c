// Fault injection for tests (the allocation failures no test could otherwise provoke).
#include "cle_internal.h"
#include <stdlib.h>
#include <string.h>

enum { CLE_FAILPOINTS_MAX = 8, CLE_FAILPOINT_NAME = 32 };

static struct {
    char name[CLE_FAILPOINT_NAME];
    long from;                        /* fail from this call on (1-based) */
    long calls;
} points[CLE_FAILPOINTS_MAX];
static int npoints;
int cle_failpoints_on;

void cle_failpoints_load(void) {
    static int loaded;
    if (loaded) return;
    loaded = 1;
    const char *spec = getenv("THINKBACK_FAILPOINTS");
    while (spec && *spec && npoints < CLE_FAILPOINTS_MAX) {
        const char *end = strchr(spec, ',');
        size_t len = end ? (size_t)(end - spec) : strlen(spec);
        const char *colon = memchr(spec, ':', len);
        size_t name_len = colon ? (size_t)(colon - spec) : len;
        if (name_len > 0 && name_len < CLE_FAILPOINT_NAME) {
            memcpy(points[npoints].name, spec, name_len);
            points[npoints].name[name_len] = 0;
            points[npoints].from = colon ? strtol(colon + 1, NULL, 10) : 1;
            if (points[npoints].from < 1) points[npoints].from = 1;
            npoints++;
        }
        spec = end ? end + 1 : NULL;
    }
    cle_failpoints_on = npoints > 0;
}

int cle_failpoint_hit(const char *name) {
    if (!cle_failpoints_on) return 0;
    for (int i = 0; i < npoints; i++) {
        if (strcmp(points[i].name, name) == 0) return ++points[i].calls >= points[i].from;
    }
    return 0;
}
