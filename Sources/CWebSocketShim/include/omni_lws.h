/*
 * omni_lws.h - the few libwebsockets things Swift cannot reach on its own.
 *
 * Swift imports most of libwebsockets directly (structs, enums, plain functions), so the Swift
 * layer in Sources/OmniWebSocket calls lws itself. This header only adds what the Swift importer
 * cannot express:
 *   - LWS_PRE is a chain of function-like macros (_LWS_PAD), never imported      -> lws_pre.c
 *   - the protocols table is a C array ended by an all-zero terminator entry whose
 *     strings must outlive the context                                            -> lws_protocols.c
 *   - lws's log emitter is one process-global function pointer with no user data,
 *     fed by the variadic _lws_log(); lines end in '\n'                           -> lws_log.c
 *   - the client TLS context is built here with OpenSSL and handed to lws
 *     (provided_client_ssl_ctx): lws's own loads the whole system CA bundle at
 *     vhost creation (twice: OpenSSL's default cert.pem is the same bundle), about
 *     a megabyte of parsed certificates kept for the life of the process, while
 *     OpenSSL's hashed-directory lookup reads only the issuer a handshake needs   -> tls_client.c
 */
#ifndef OMNI_LWS_H
#define OMNI_LWS_H

#include <stddef.h>
#include <libwebsockets.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- lws_pre.c -------------------------------------------------------------------------- */

/* LWS_PRE: bytes of headroom lws_write() needs in front of every payload it frames. */
size_t omni_lws_pre(void);

/* ---- lws_protocols.c -------------------------------------------------------------------- */

/*
 * A heap-allocated two-entry protocols table: { name, callback, rx_buffer_size } followed by the
 * zero terminator lws looks for. The name is copied. lws keeps pointing at the table for the
 * whole life of the context (and its vhosts), so free it only after lws_context_destroy().
 * Returns NULL when out of memory.
 */
struct lws_protocols *omni_lws_protocols_create(const char *name,
                                                lws_callback_function *callback,
                                                size_t rx_buffer_size);
void omni_lws_protocols_destroy(struct lws_protocols *protocols);

/* ---- lws_log.c -------------------------------------------------------------------------- */

/* Receives one lws log line: the LLL_* bit it was logged at, the text without its trailing
 * newline, and the text's length in bytes. Called on whichever thread logged. */
typedef void (*omni_lws_log_sink)(int level, const char *line, size_t length);

/*
 * Routes all lws logging to `sink` (NULL discards everything) and enables only the LLL_* bits in
 * `levels`. Safe to call again at any time; the sink pointer is swapped atomically. Until the
 * first call lws would print to stderr, so call this before creating any lws context.
 */
void omni_lws_log_route(int levels, omni_lws_log_sink sink);

/* ---- tls_client.c ----------------------------------------------------------------------- */

/*
 * An OpenSSL client context (TLS 1.2 or later, peer verification on) trusting `ca_file` if
 * given, else the hashed certificate directory `ca_dir` (looked up lazily). Returned as void *
 * (an SSL_CTX *) so Swift needs no OpenSSL headers; NULL if OpenSSL refused. Free it with
 * omni_tls_client_context_free() after the lws context that uses it is destroyed.
 */
void *omni_tls_client_context(const char *ca_file, const char *ca_dir);
void omni_tls_client_context_free(void *ctx);

#ifdef __cplusplus
}
#endif

#endif /* OMNI_LWS_H */
