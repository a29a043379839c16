/*
 * omni_alsa.h - the few things the audio engine (Sources/OmniLinux/Audio) cannot do from Swift.
 *
 * Swift imports alsa-lib and speexdsp directly; hw/sw params use snd_pcm_*_malloc instead of
 * the _alloca macros, so no shim is needed for those. What is left:
 *   - snd_lib_error_set_handler() wants a *variadic* C callback, which Swift cannot define.
 *     alsa-lib prints its error lines to stderr otherwise, from whatever thread hit the error,
 *     including the real-time audio thread (which must not log). The handler here formats the
 *     line and hands it to a plain sink, and drops it on threads that muted themselves.
 *   - gettid() and pthread_setname_np() are declared only under _GNU_SOURCE, which Swift's
 *     Glibc module does not define: the audio thread's kernel id (for chrt -p, top -H and the
 *     allocation probe) and its name.
 *   - pre-faulting the audio thread's stack needs a stack array the compiler may not elide.
 */
#ifndef OMNI_ALSA_H
#define OMNI_ALSA_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Receives one alsa-lib error line (no trailing newline) and the error code alsa-lib gave
 * (0 or a negative errno). Called on the thread that hit the error. */
typedef void (*omni_alsa_error_sink)(int err, const char *line);

/* Routes alsa-lib error output to `sink` (NULL: drop everything). Process-wide. */
void omni_alsa_route_errors(omni_alsa_error_sink sink);

/* Nonzero: alsa-lib error lines raised on the calling thread are dropped without formatting. */
void omni_alsa_mute_errors_on_this_thread(int muted);

/* The calling thread's kernel thread id. */
int omni_audio_gettid(void);

/* Names the calling thread (first 15 bytes). */
void omni_audio_name_thread(const char *name);

/* Touches `bytes` of the calling thread's stack so later growth does not page-fault. */
void omni_audio_prefault_stack(size_t bytes);

#ifdef __cplusplus
}
#endif

#endif /* OMNI_ALSA_H */
