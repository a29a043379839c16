/* libgpiod 1.x (Debian 12): the line-bulk / gpiod_line_request API. See gpio_shim.c. */
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

#if !OMNI_GPIOD_V2
/* ---------------------------------------------------------------- libgpiod 1.x */

static int v1_flags(const omni_gpio_line_spec *spec) {
    int flags = 0;
    if (spec->active_low) flags |= GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW;
    switch (spec->bias) {
    case OMNI_GPIO_BIAS_DISABLE: flags |= GPIOD_LINE_REQUEST_FLAG_BIAS_DISABLE; break;
    case OMNI_GPIO_BIAS_PULL_UP: flags |= GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_UP; break;
    case OMNI_GPIO_BIAS_PULL_DOWN: flags |= GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_DOWN; break;
    default: break;
    }
    return flags;
}

/* Finds the line; on success *chip owns it. */
static int v1_find(const omni_gpio_line_spec *spec, struct gpiod_chip **chip_out, struct gpiod_line **line_out,
                   omni_gpio_error *error) {
    struct gpiod_chip *chip;
    struct gpiod_line *line;
    if (omni_gpio_has_text(spec->chip)) {
        errno = 0;
        chip = gpiod_chip_open_lookup(spec->chip);
        if (!chip) {
            omni_gpio_set_error(error, errno ? errno : ENOENT, OMNI_GPIO_STAGE_CHIP, spec->chip);
            return -1;
        }
        errno = 0;
        if (omni_gpio_has_text(spec->name)) {
            line = gpiod_chip_find_line(chip, spec->name);
        } else if (spec->offset >= gpiod_chip_num_lines(chip)) {
            line = NULL;
            errno = ENOENT;
        } else {
            line = gpiod_chip_get_line(chip, spec->offset);
        }
        if (!line) {
            int err = errno ? errno : ENOENT;
            omni_gpio_set_error(error, err, OMNI_GPIO_STAGE_LINE, gpiod_chip_name(chip));
            gpiod_chip_close(chip);
            return -1;
        }
    } else if (omni_gpio_has_text(spec->name)) {
        /* Every chip, in /dev order; fails with EACCES if a chip cannot be opened. */
        errno = 0;
        line = gpiod_line_find(spec->name);
        if (!line) {
            int err = errno ? errno : ENOENT;
            omni_gpio_set_error(error, err, err == ENOENT ? OMNI_GPIO_STAGE_LINE : OMNI_GPIO_STAGE_CHIP, "");
            return -1;
        }
        chip = gpiod_line_get_chip(line);
    } else {
        omni_gpio_set_error(error, EINVAL, OMNI_GPIO_STAGE_LINE, "");
        return -1;
    }
    *chip_out = chip;
    *line_out = line;
    return 0;
}

static omni_gpio_line *v1_open(const omni_gpio_line_spec *spec, int input, int initial, omni_gpio_error *error) {
    struct gpiod_chip *chip;
    struct gpiod_line *line;
    if (v1_find(spec, &chip, &line, error) < 0) return NULL;
    omni_gpio_line *l = omni_gpio_new_line();
    if (!l) {
        gpiod_chip_close(chip);
        omni_gpio_set_error(error, ENOMEM, OMNI_GPIO_STAGE_REQUEST, "");
        return NULL;
    }
    const char *consumer = omni_gpio_has_text(spec->consumer) ? spec->consumer : "omnid";
    struct gpiod_line_request_config config = {
        .consumer = consumer,
        .request_type = input ? GPIOD_LINE_REQUEST_EVENT_BOTH_EDGES : GPIOD_LINE_REQUEST_DIRECTION_OUTPUT,
        .flags = v1_flags(spec),
    };
    errno = 0;
    if (gpiod_line_request(line, &config, initial ? 1 : 0) < 0) {
        omni_gpio_set_error(error, errno, OMNI_GPIO_STAGE_REQUEST, gpiod_chip_name(chip));
        gpiod_chip_close(chip);
        free(l);
        return NULL;
    }
    l->chip = chip;
    l->line = line;
    l->offset = gpiod_line_offset(line);
    l->is_input = input;
    snprintf(l->chip_name, sizeof l->chip_name, "%s", gpiod_chip_name(chip));
    if (input) {
        l->fd = gpiod_line_event_get_fd(line);
        if (l->fd < 0 || omni_gpio_make_nonblocking(l->fd) < 0) {
            omni_gpio_set_error(error, errno, OMNI_GPIO_STAGE_REQUEST, l->chip_name);
            omni_gpio_close(l);
            return NULL;
        }
    }
    return l;
}

int omni_gpio_read_edges(omni_gpio_line *l, omni_gpio_edge *edges, int max) {
    if (!l || !l->is_input) return -EINVAL;
    if (max <= 0) return 0;
    struct gpiod_line_event events[OMNI_EDGE_BATCH];
    int want = max < OMNI_EDGE_BATCH ? max : OMNI_EDGE_BATCH;
    errno = 0;
    int n = gpiod_line_event_read_fd_multiple(l->fd, events, (unsigned int)want);
    if (n < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -(errno ? errno : EIO);
    for (int i = 0; i < n; i++) {
        edges[i].timestamp_ns = (uint64_t)events[i].ts.tv_sec * 1000000000ull + (uint64_t)events[i].ts.tv_nsec;
        edges[i].rising = events[i].event_type == GPIOD_LINE_EVENT_RISING_EDGE;
    }
    return n;
}

int omni_gpio_get_value(omni_gpio_line *l) {
    if (!l) return -EINVAL;
    errno = 0;
    int v = gpiod_line_get_value(l->line);
    return v < 0 ? -(errno ? errno : EIO) : v;
}

int omni_gpio_set_value(omni_gpio_line *l, int value) {
    if (!l || l->is_input) return -EINVAL;
    errno = 0;
    return gpiod_line_set_value(l->line, value ? 1 : 0) < 0 ? -(errno ? errno : EIO) : 0;
}

void omni_gpio_close(omni_gpio_line *l) {
    if (!l) return;
    if (l->line) gpiod_line_release(l->line);
    if (l->chip) gpiod_chip_close(l->chip);
    free(l);
}

int omni_gpio_api(void) { return 1; }

const char *omni_gpio_library_version(void) { return gpiod_version_string(); }

omni_gpio_line *omni_gpio_open_line(const omni_gpio_line_spec *spec, int input, int initial, omni_gpio_error *error) {
    return v1_open(spec, input, initial, error);
}

#endif
