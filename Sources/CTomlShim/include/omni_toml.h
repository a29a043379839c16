/*
 * omni_toml.h - TOML parsing for the config loader (Sources/OmniCore/Config/ConfigDocument.swift).
 *
 * Why this exists: the parser is toml++ (Debian's libtomlplusplus), a C++ library whose API is
 * templates, std::string_view, std::map-based tables and C++ exceptions - none of which Swift can
 * call without C++ interop (which would also drag the C++ standard library into every Swift
 * module that imports this one). toml_shim.cpp parses the text, catches every C++ exception, and
 * walks the parsed document, reporting each node with the line toml++ recorded for it through one
 * plain C callback. Nothing C++ crosses this header.
 */
#ifndef OMNI_TOML_H
#define OMNI_TOML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum omni_toml_kind {
    OMNI_TOML_STRING = 0,     /* text */
    OMNI_TOML_INTEGER,        /* integer */
    OMNI_TOML_FLOAT,          /* number */
    OMNI_TOML_BOOLEAN,        /* boolean */
    OMNI_TOML_DATE_TIME,      /* a date, time or date-time; text holds it in TOML form */
    OMNI_TOML_TABLE_BEGIN,    /* children follow, then OMNI_TOML_TABLE_END */
    OMNI_TOML_TABLE_END,
    OMNI_TOML_ARRAY_BEGIN,    /* elements (key == NULL) follow, then OMNI_TOML_ARRAY_END */
    OMNI_TOML_ARRAY_END,
    OMNI_TOML_ERROR,          /* parse failed: text is toml++'s description; line/column where */
} omni_toml_kind;

/* One node of the document. Pointers are valid only during the callback. */
typedef struct omni_toml_event {
    omni_toml_kind kind;
    const char *key;          /* key within the enclosing table (not NUL-terminated); NULL for
                                 array elements, *_END and ERROR */
    size_t key_length;
    const char *text;         /* STRING, DATE_TIME, ERROR (not NUL-terminated; may contain NUL) */
    size_t text_length;
    int64_t integer;
    double number;
    bool boolean;
    uint32_t line;            /* 1-based line where toml++ says the node begins (for a table
                                 declared with [header], the header's line); 0 if unknown */
    uint32_t column;
} omni_toml_event;

typedef void (*omni_toml_visitor)(const omni_toml_event *event, void *context);

/*
 * Parses `length` bytes of UTF-8 `text`. On success reports the root table's children
 * depth-first (tables and arrays bracketed by *_BEGIN / *_END) and returns true. On failure
 * the last event reported is one OMNI_TOML_ERROR, and it returns false. Never throws.
 */
bool omni_toml_parse(const char *text, size_t length, omni_toml_visitor visit, void *context);

#ifdef __cplusplus
}
#endif

#endif /* OMNI_TOML_H */
