/*
 * Why this file exists: see include/omni_alsa.h. In short, alsa-lib's error handler is a
 * variadic callback (Swift cannot define one). Nothing here runs on the audio thread's hot
 * path except the muted early-out of the error handler.
 */
#include <alsa/asoundlib.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include "omni_alsa.h"

static _Atomic(omni_alsa_error_sink) error_sink = NULL;
static __thread int errors_muted = 0;

static void omni_alsa_error_handler(const char *file, int line, const char *function, int err,
                                    const char *fmt, ...)
{
    omni_alsa_error_sink sink;
    char text[512];
    int used;
    va_list ap;

    if (errors_muted)
        return;
    sink = atomic_load(&error_sink);
    if (sink == NULL)
        return;
    used = snprintf(text, sizeof(text), "%s:%d:(%s) ", file ? file : "?", line, function ? function : "?");
    if (used < 0)
        used = 0;
    if ((size_t)used < sizeof(text)) {
        va_start(ap, fmt);
        vsnprintf(text + used, sizeof(text) - (size_t)used, fmt, ap);
        va_end(ap);
    }
    if (err != 0) {
        size_t len = strlen(text);
        if (len < sizeof(text))
            snprintf(text + len, sizeof(text) - len, ": %s", snd_strerror(err));
    }
    sink(err, text);
}

void omni_alsa_route_errors(omni_alsa_error_sink sink)
{
    atomic_store(&error_sink, sink);
    snd_lib_error_set_handler(omni_alsa_error_handler);
}

void omni_alsa_mute_errors_on_this_thread(int muted)
{
    errors_muted = muted;
}
