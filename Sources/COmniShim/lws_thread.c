/*
 * Why this file exists: the lws service threads are plain pthreads (Foundation's Thread is not
 * shipped), and naming them ("omni-lws-client" in top -H, gdb, /proc/<pid>/task/<tid>/comm) needs
 * pthread_setname_np, which glibc only declares under _GNU_SOURCE -- Swift's Glibc module does not
 * see it.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <string.h>
#include "omni_lws.h"

void omni_lws_name_current_thread(const char *name)
{
    char shortened[16]; /* Linux limit: 15 bytes + NUL; longer names are refused, not cut */

    strncpy(shortened, name, sizeof(shortened) - 1);
    shortened[sizeof(shortened) - 1] = '\0';
    pthread_setname_np(pthread_self(), shortened);
}
