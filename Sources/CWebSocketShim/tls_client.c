/* Why this file exists: see include/omni_lws.h (tls_client.c). */
#include <openssl/ssl.h>
#include "omni_lws.h"

void *omni_tls_client_context(const char *ca_file, const char *ca_dir)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

    if (!ctx)
        return NULL;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION);
    /* A file is read now (a private CA: one or a few certificates); a hashed directory is only
     * recorded, and OpenSSL reads the one issuer it needs, by subject hash, when it verifies. */
    if (SSL_CTX_load_verify_locations(ctx, ca_file, ca_file ? NULL : ca_dir) != 1) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    /* lws sets SSL_VERIFY_PEER and the host name check on every connection as well. */
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    return ctx;
}

void omni_tls_client_context_free(void *ctx)
{
    SSL_CTX_free((SSL_CTX *)ctx);
}
