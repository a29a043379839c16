/*
 * omni_gpio.h over libgpiod 1.x (gpio_v1.c) or 2.x (gpio_v2.c), chosen at compile time from gpiod.h itself:
 * libgpiod 1.x defines the macro GPIOD_LINE_BULK_MAX_LINES (and the line-bulk API); 2.x has no
 * such macro (it only has enums, and a request/settings/config API instead of gpiod_line_request).
 * -DOMNI_GPIOD_API_V1 / -DOMNI_GPIOD_API_V2 force a branch.
 *
 * The v1 branch is built and tested here (Debian 12, libgpiod 1.6.3). The v2 branch follows the
 * libgpiod 2.x API; it was compiled with -Wall -Wextra -Werror against libgpiod 2.3's gpiod.h and
 * linked against a libgpiod 2.3 built from source (no v2 system package exists on Debian 12).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "gpio_internal.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------------- shared helpers */

int omni_gpio_has_text(const char *s) { return s && s[0] != '\0'; }

void omni_gpio_set_error(omni_gpio_error *e, int err, int stage, const char *chip) {
    if (!e) return;
    e->err = err ? err : EIO;
    e->stage = stage;
    snprintf(e->chip, sizeof e->chip, "%s", chip ? chip : "");
}

int omni_gpio_make_nonblocking(int fd) {
    int flags = fcntl(fd, F_GETFL, 0);
    if (flags < 0) return -1;
    return fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

omni_gpio_line *omni_gpio_new_line(void) {
    omni_gpio_line *l = calloc(1, sizeof *l);
    if (l) l->fd = -1;
    return l;
}

/* ---------------------------------------------------------------- common */

omni_gpio_line *omni_gpio_open_input(const omni_gpio_line_spec *spec, omni_gpio_error *error) {
    if (error) memset(error, 0, sizeof *error);
    if (!spec) return NULL;
    return omni_gpio_open_line(spec, 1, 0, error);
}

omni_gpio_line *omni_gpio_open_output(const omni_gpio_line_spec *spec, int initial_value, omni_gpio_error *error) {
    if (error) memset(error, 0, sizeof *error);
    if (!spec) return NULL;
    return omni_gpio_open_line(spec, 0, initial_value, error);
}

int omni_gpio_fd(omni_gpio_line *l) { return l ? l->fd : -1; }

const char *omni_gpio_chip_name(omni_gpio_line *l) { return l ? l->chip_name : ""; }

unsigned int omni_gpio_offset(omni_gpio_line *l) { return l ? l->offset : 0; }
