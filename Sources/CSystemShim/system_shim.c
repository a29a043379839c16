/* Why this file exists: see include/omni_system.h. */
#define _GNU_SOURCE
#include <poll.h>
#include <stdint.h>
#include <sys/mman.h>
#include <malloc.h>
#include <pthread.h>
#include <time.h>
#include <string.h>
#include <sys/eventfd.h>
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

int omni_eventfd(void)
{
    return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

int omni_wait_readable_until(int fd, int64_t deadline_ns)
{
    struct timespec now, left;
    struct pollfd p = { .fd = fd, .events = POLLIN, .revents = 0 };
    int64_t rest;

    clock_gettime(CLOCK_MONOTONIC, &now);
    rest = deadline_ns - ((int64_t)now.tv_sec * 1000000000 + now.tv_nsec);
    if (rest <= 0)
        return 0;
    left.tv_sec = (time_t)(rest / 1000000000);
    left.tv_nsec = (long)(rest % 1000000000);
    return ppoll(&p, 1, &left, NULL);
}

int omni_lock_stack(size_t bytes)
{
    volatile unsigned char here = 0;
    uintptr_t top = (uintptr_t)&here;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t low = (top - bytes) & ~(page - 1);

    omni_prefault_stack(bytes);
    return mlock((void *)low, (size_t)(top - low));
}

int omni_fix_mmap_threshold(size_t bytes)
{
    return mallopt(M_MMAP_THRESHOLD, (int)bytes);
}
