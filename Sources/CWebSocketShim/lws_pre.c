/*
 * Why this file exists: LWS_PRE (the headroom lws_write() needs before each payload for the
 * WebSocket frame header) is defined through the function-like macro _LWS_PAD, and Swift imports
 * no function-like macros. Exporting its value as a function keeps it exact for the installed
 * libwebsockets build instead of a hard-coded 16 in Swift.
 */
#include "omni_lws.h"

size_t omni_lws_pre(void)
{
    return LWS_PRE;
}
