/*
 * omni_system.h - the few POSIX/Linux calls Swift's Glibc module cannot see.
 *
 * gettid() and pthread_setname_np() are declared only under _GNU_SOURCE, which Swift's Glibc
 * module does not define. Every thread omnid starts (audio, audio monitor, websocket service,
 * GPIO/keyboard/control I/O) is named through this one file so `top -H`, gdb and
 * /proc/<pid>/task/<tid>/comm show what it is. Pre-faulting a stack needs a stack array the
 * compiler may not elide, which Swift cannot express. <sys/eventfd.h> is not in Swift's Glibc
 * module at all, and mallopt() is in <malloc.h>, which the Glibc module does not include.
 */
#ifndef OMNI_SYSTEM_H
#define OMNI_SYSTEM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Names the calling thread (first 15 bytes: Linux refuses longer names instead of cutting). */
void omni_name_current_thread(const char *name);

/* The calling thread's kernel thread id (for chrt -p, top -H and the allocation probe). */
int omni_gettid(void);

/* Touches `bytes` of the calling thread's stack so later growth does not page-fault. */
void omni_prefault_stack(size_t bytes);

/* Touches and mlock()s the `bytes` of the calling thread's stack below the caller's frame
 * (the audio thread's, before its loop). Returns 0, or -1 with errno set (left unlocked). */
int omni_lock_stack(size_t bytes);

/* A non-blocking, close-on-exec eventfd (counter 0): how the audio thread wakes the rest
 * without a timer. Returns the fd, or -1 with errno set. */
int omni_eventfd(void);

/* Waits until `fd` is readable or CLOCK_MONOTONIC reaches `deadline_ns`, with ns resolution
 * (ppoll; poll's milliseconds are too coarse for an audio period, and ppoll needs _GNU_SOURCE).
 * Real-time safe: no allocation. Returns ppoll's result (0: the deadline passed). */
int omni_wait_readable_until(int fd, int64_t deadline_ns);
/* mallopt(M_MMAP_THRESHOLD, bytes): allocations of at least `bytes` are mmapped and returned to
 * the kernel when freed, and the threshold no longer rises after such a free. 1 on success. */
int omni_fix_mmap_threshold(size_t bytes);

#ifdef __cplusplus
}
#endif

#endif /* OMNI_SYSTEM_H */
