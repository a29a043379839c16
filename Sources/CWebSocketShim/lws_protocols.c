/*
 * Why this file exists: lws takes its protocol handlers as a C array that must end with an
 * all-zero terminator entry, and keeps pointers into it (and to the name string) for as long as
 * the context lives. Building that in Swift means hand-managing a raw buffer of imported structs
 * plus a strdup'd name; here it is one calloc with the terminator zeroed by construction.
 * The callback itself is a Swift @convention(c) function.
 */
#include <stdlib.h>
#include <string.h>
#include "omni_lws.h"

struct lws_protocols *omni_lws_protocols_create(const char *name,
                                                lws_callback_function *callback,
                                                size_t rx_buffer_size)
{
    /* Entry 0 is ours, entry 1 stays all-zero: that is the terminator lws scans for. */
    size_t length = strlen(name ? name : "") + 1;
    struct lws_protocols *table = calloc(2, sizeof(*table));
    char *copy = malloc(length);

    if (!table || !copy) {
        free(table);
        free(copy);
        return NULL;
    }
    memcpy(copy, name ? name : "", length);
    table[0].name = copy;
    table[0].callback = callback;
    table[0].per_session_data_size = 0; /* per-connection state lives in Swift */
    table[0].rx_buffer_size = rx_buffer_size;
    return table;
}

void omni_lws_protocols_destroy(struct lws_protocols *protocols)
{
    if (!protocols)
        return;
    free((void *)protocols[0].name);
    free(protocols);
}
