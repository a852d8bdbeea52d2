/* What --workers needs from the system (issue 20): one anonymous shared mapping made before
   the supervisor forks, holding every worker's counters; the cores this process may run on.
   Glue. */
#define _GNU_SOURCE
#include <sched.h>
#include <sys/mman.h>
#include "cle_internal.h"

void *cle_shared_map(size_t bytes) {
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

int cle_cpus_allowed(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) return 0;
    return CPU_COUNT(&set);
}
