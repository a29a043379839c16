/*
 * omni_alsa.h - the few things the audio engine (Sources/OmniLinux/Audio) cannot do from Swift.
 *
 * Swift imports alsa-lib and speexdsp directly; hw/sw params use snd_pcm_*_malloc instead of
 * the _alloca macros, so no shim is needed for those. What is left:
 *   - snd_lib_error_set_handler() wants a *variadic* C callback, which Swift cannot define.
 *     alsa-lib prints its error lines to stderr otherwise, from whatever thread hit the error,
 *     including the real-time audio thread (which must not log). The handler here formats the
 *     line and hands it to a plain sink, and drops it on threads that muted themselves.
Thread naming, gettid() and stack pre-faulting live in CSystemShim's omni_system.h.
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

#ifdef __cplusplus
}
#endif

#endif /* OMNI_ALSA_H */
