/*
 * Why this file exists: lws formats every log line itself (the variadic _lws_log/lwsl_* macros,
 * which Swift cannot call or implement) and hands the finished line to ONE process-global emit
 * function that carries no user pointer; its default writes straight to stderr. This trampoline
 * is that emit function: it trims the trailing newline and forwards to a sink that Swift can
 * swap atomically at any time (or NULL to drop), so lws output always ends up in swift-log.
 */
#include <stdatomic.h>
#include <string.h>
#include "omni_lws.h"

static _Atomic(omni_lws_log_sink) current_sink = NULL;

static void omni_lws_emit(int level, const char *line)
{
    omni_lws_log_sink sink = atomic_load_explicit(&current_sink, memory_order_acquire);
    size_t length;

    if (!sink || !line)
        return;
    length = strlen(line);
    while (length > 0 && (line[length - 1] == '\n' || line[length - 1] == '\r'))
        length--;
    if (length == 0)
        return;
    sink(level, line, length);
}

void omni_lws_log_route(int levels, omni_lws_log_sink sink)
{
    atomic_store_explicit(&current_sink, sink, memory_order_release);
    lws_set_log_level(levels, omni_lws_emit);
}
