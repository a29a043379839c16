/* Why this file exists: see include/omni_system.h. */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>
#include "omni_system.h"

void omni_name_current_thread(const char *name)
{
    char shortened[16]; /* Linux limit: 15 bytes + NUL; longer names are refused, not cut */

    strncpy(shortened, name ? name : "", sizeof(shortened) - 1);
    shortened[sizeof(shortened) - 1] = '\0';
    pthread_setname_np(pthread_self(), shortened);
}

int omni_gettid(void)
{
    return (int)gettid();
}

void omni_prefault_stack(size_t bytes)
{
    /* A VLA, so the whole range is below this frame; volatile so the stores are kept. */
    volatile unsigned char area[bytes > 0 ? bytes : 1];
    size_t i;

    for (i = 0; i < bytes; i += 64)
        area[i] = 0;
}

int omni_fix_mmap_threshold(size_t bytes)
{
    return mallopt(M_MMAP_THRESHOLD, (int)bytes);
}
