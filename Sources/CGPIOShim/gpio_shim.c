/*
 * omni_gpio.h over libgpiod 1.x or 2.x, chosen at compile time from gpiod.h itself:
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
#include "omni_gpio.h"

#include <gpiod.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(OMNI_GPIOD_API_V2) || (!defined(OMNI_GPIOD_API_V1) && !defined(GPIOD_LINE_BULK_MAX_LINES))
#define OMNI_GPIOD_V2 1
#else
#define OMNI_GPIOD_V2 0
#endif

#define OMNI_EDGE_BATCH 16

struct omni_gpio_line {
#if OMNI_GPIOD_V2
    struct gpiod_line_request *request;
    struct gpiod_edge_event_buffer *buffer;
#else
    struct gpiod_chip *chip;
    struct gpiod_line *line;
#endif
    unsigned int offset;
    int fd;
    int is_input;
    char chip_name[64];
};

static int has_text(const char *s) { return s && s[0] != '\0'; }

static void set_error(omni_gpio_error *e, int err, int stage, const char *chip) {
    if (!e) return;
    e->err = err ? err : EIO;
    e->stage = stage;
    snprintf(e->chip, sizeof e->chip, "%s", chip ? chip : "");
}

static int make_nonblocking(int fd) {
    int flags = fcntl(fd, F_GETFL, 0);
    if (flags < 0) return -1;
    return fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

static omni_gpio_line *new_line(void) {
    omni_gpio_line *l = calloc(1, sizeof *l);
    if (l) l->fd = -1;
    return l;
}

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
    if (has_text(spec->chip)) {
        errno = 0;
        chip = gpiod_chip_open_lookup(spec->chip);
        if (!chip) {
            set_error(error, errno ? errno : ENOENT, OMNI_GPIO_STAGE_CHIP, spec->chip);
            return -1;
        }
        errno = 0;
        if (has_text(spec->name)) {
            line = gpiod_chip_find_line(chip, spec->name);
        } else if (spec->offset >= gpiod_chip_num_lines(chip)) {
            line = NULL;
            errno = ENOENT;
        } else {
            line = gpiod_chip_get_line(chip, spec->offset);
        }
        if (!line) {
            int err = errno ? errno : ENOENT;
            set_error(error, err, OMNI_GPIO_STAGE_LINE, gpiod_chip_name(chip));
            gpiod_chip_close(chip);
            return -1;
        }
    } else if (has_text(spec->name)) {
        /* Every chip, in /dev order; fails with EACCES if a chip cannot be opened. */
        errno = 0;
        line = gpiod_line_find(spec->name);
        if (!line) {
            int err = errno ? errno : ENOENT;
            set_error(error, err, err == ENOENT ? OMNI_GPIO_STAGE_LINE : OMNI_GPIO_STAGE_CHIP, "");
            return -1;
        }
        chip = gpiod_line_get_chip(line);
    } else {
        set_error(error, EINVAL, OMNI_GPIO_STAGE_LINE, "");
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
    omni_gpio_line *l = new_line();
    if (!l) {
        gpiod_chip_close(chip);
        set_error(error, ENOMEM, OMNI_GPIO_STAGE_REQUEST, "");
        return NULL;
    }
    const char *consumer = has_text(spec->consumer) ? spec->consumer : "omnid";
    struct gpiod_line_request_config config = {
        .consumer = consumer,
        .request_type = input ? GPIOD_LINE_REQUEST_EVENT_BOTH_EDGES : GPIOD_LINE_REQUEST_DIRECTION_OUTPUT,
        .flags = v1_flags(spec),
    };
    errno = 0;
    if (gpiod_line_request(line, &config, initial ? 1 : 0) < 0) {
        set_error(error, errno, OMNI_GPIO_STAGE_REQUEST, gpiod_chip_name(chip));
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
        if (l->fd < 0 || make_nonblocking(l->fd) < 0) {
            set_error(error, errno, OMNI_GPIO_STAGE_REQUEST, l->chip_name);
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

#else
/* ---------------------------------------------------------------- libgpiod 2.x */

static int is_number(const char *s) {
    if (!has_text(s)) return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s)) return 0;
    return 1;
}

static int gpiochip_entry(const struct dirent *d) { return strncmp(d->d_name, "gpiochip", 8) == 0; }

/* The gpiochip device paths in /dev, in version order (gpiochip2 before gpiochip10). */
static int list_chips(char ***paths_out) {
    struct dirent **entries;
    int n = scandir("/dev", &entries, gpiochip_entry, versionsort);
    if (n < 0) return -1;
    char **paths = calloc((size_t)(n > 0 ? n : 1), sizeof *paths);
    int count = 0;
    for (int i = 0; i < n; i++) {
        char path[300];
        snprintf(path, sizeof path, "/dev/%s", entries[i]->d_name);
        if (paths && gpiod_is_gpiochip_device(path)) paths[count++] = strdup(path);
        free(entries[i]);
    }
    free(entries);
    *paths_out = paths;
    return paths ? count : -1;
}

static void free_paths(char **paths, int n) {
    for (int i = 0; i < n; i++) free(paths[i]);
    free(paths);
}

/* Opens a chip given as a path, a name in /dev, a number or a label. */
static struct gpiod_chip *v2_open_chip(const char *descr, char *path_out, size_t path_len, int *err) {
    char path[300];
    if (descr[0] == '/')
        snprintf(path, sizeof path, "%s", descr);
    else if (is_number(descr))
        snprintf(path, sizeof path, "/dev/gpiochip%s", descr);
    else
        snprintf(path, sizeof path, "/dev/%s", descr);
    errno = 0;
    struct gpiod_chip *chip = gpiod_chip_open(path);
    if (chip) {
        snprintf(path_out, path_len, "%s", path);
        return chip;
    }
    *err = errno ? errno : ENOENT;
    if (*err != ENOENT || descr[0] == '/' || is_number(descr)) return NULL;
    /* Maybe a label (e.g. "pinctrl-bcm2711"). */
    char **paths;
    int n = list_chips(&paths);
    if (n < 0) return NULL;
    for (int i = 0; i < n && !chip; i++) {
        struct gpiod_chip *c = gpiod_chip_open(paths[i]);
        if (!c) {
            if (errno == EACCES || errno == EPERM) *err = errno;
            continue;
        }
        struct gpiod_chip_info *info = gpiod_chip_get_info(c);
        const char *label = info ? gpiod_chip_info_get_label(info) : NULL;
        if (label && strcmp(label, descr) == 0) {
            chip = c;
            snprintf(path_out, path_len, "%s", paths[i]);
        } else {
            gpiod_chip_close(c);
        }
        if (info) gpiod_chip_info_free(info);
    }
    free_paths(paths, n);
    return chip;
}

/* Finds the chip and offset of the line; the chip is returned open. */
static struct gpiod_chip *v2_find(const omni_gpio_line_spec *spec, unsigned int *offset, char *path, size_t path_len,
                                  omni_gpio_error *error) {
    if (has_text(spec->chip)) {
        int err = 0;
        struct gpiod_chip *chip = v2_open_chip(spec->chip, path, path_len, &err);
        if (!chip) {
            set_error(error, err, OMNI_GPIO_STAGE_CHIP, spec->chip);
            return NULL;
        }
        if (has_text(spec->name)) {
            errno = 0;
            int off = gpiod_chip_get_line_offset_from_name(chip, spec->name);
            if (off < 0) {
                set_error(error, errno ? errno : ENOENT, OMNI_GPIO_STAGE_LINE, path);
                gpiod_chip_close(chip);
                return NULL;
            }
            *offset = (unsigned int)off;
        } else {
            struct gpiod_chip_info *info = gpiod_chip_get_info(chip);
            size_t lines = info ? gpiod_chip_info_get_num_lines(info) : 0;
            if (info) gpiod_chip_info_free(info);
            if (spec->offset >= lines) {
                set_error(error, ENOENT, OMNI_GPIO_STAGE_LINE, path);
                gpiod_chip_close(chip);
                return NULL;
            }
            *offset = spec->offset;
        }
        return chip;
    }
    if (!has_text(spec->name)) {
        set_error(error, EINVAL, OMNI_GPIO_STAGE_LINE, "");
        return NULL;
    }
    char **paths;
    int n = list_chips(&paths);
    if (n < 0) {
        set_error(error, errno, OMNI_GPIO_STAGE_CHIP, "/dev");
        return NULL;
    }
    int denied = 0;
    char denied_path[64] = "";
    struct gpiod_chip *found = NULL;
    for (int i = 0; i < n && !found; i++) {
        struct gpiod_chip *chip = gpiod_chip_open(paths[i]);
        if (!chip) {
            if (!denied && (errno == EACCES || errno == EPERM)) {
                denied = errno;
                snprintf(denied_path, sizeof denied_path, "%s", paths[i]);
            }
            continue;
        }
        int off = gpiod_chip_get_line_offset_from_name(chip, spec->name);
        if (off >= 0) {
            found = chip;
            *offset = (unsigned int)off;
            snprintf(path, path_len, "%s", paths[i]);
        } else {
            gpiod_chip_close(chip);
        }
    }
    free_paths(paths, n);
    if (!found) {
        if (denied)
            set_error(error, denied, OMNI_GPIO_STAGE_CHIP, denied_path);
        else
            set_error(error, ENOENT, OMNI_GPIO_STAGE_LINE, "");
    }
    return found;
}

static omni_gpio_line *v2_open(const omni_gpio_line_spec *spec, int input, int initial, omni_gpio_error *error) {
    char path[64] = "";
    unsigned int offset = 0;
    struct gpiod_chip *chip = v2_find(spec, &offset, path, sizeof path, error);
    if (!chip) return NULL;

    omni_gpio_line *l = new_line();
    struct gpiod_line_settings *settings = gpiod_line_settings_new();
    struct gpiod_line_config *line_config = gpiod_line_config_new();
    struct gpiod_request_config *request_config = gpiod_request_config_new();
    struct gpiod_line_request *request = NULL;
    int err = ENOMEM;
    if (l && settings && line_config && request_config) {
        int ok = 0 == gpiod_line_settings_set_direction(
                          settings, input ? GPIOD_LINE_DIRECTION_INPUT : GPIOD_LINE_DIRECTION_OUTPUT);
        if (input) {
            ok = ok && 0 == gpiod_line_settings_set_edge_detection(settings, GPIOD_LINE_EDGE_BOTH);
            ok = ok && 0 == gpiod_line_settings_set_event_clock(settings, GPIOD_LINE_CLOCK_MONOTONIC);
        } else {
            ok = ok && 0 == gpiod_line_settings_set_output_value(
                                settings, initial ? GPIOD_LINE_VALUE_ACTIVE : GPIOD_LINE_VALUE_INACTIVE);
        }
        enum gpiod_line_bias bias = GPIOD_LINE_BIAS_AS_IS;
        switch (spec->bias) {
        case OMNI_GPIO_BIAS_DISABLE: bias = GPIOD_LINE_BIAS_DISABLED; break;
        case OMNI_GPIO_BIAS_PULL_UP: bias = GPIOD_LINE_BIAS_PULL_UP; break;
        case OMNI_GPIO_BIAS_PULL_DOWN: bias = GPIOD_LINE_BIAS_PULL_DOWN; break;
        default: break;
        }
        ok = ok && 0 == gpiod_line_settings_set_bias(settings, bias);
        gpiod_line_settings_set_active_low(settings, spec->active_low != 0);
        ok = ok && 0 == gpiod_line_config_add_line_settings(line_config, &offset, 1, settings);
        gpiod_request_config_set_consumer(request_config, has_text(spec->consumer) ? spec->consumer : "omnid");
        if (input) gpiod_request_config_set_event_buffer_size(request_config, 64);
        errno = 0;
        request = ok ? gpiod_chip_request_lines(chip, request_config, line_config) : NULL;
        err = errno ? errno : EINVAL;
    }
    if (settings) gpiod_line_settings_free(settings);
    if (line_config) gpiod_line_config_free(line_config);
    if (request_config) gpiod_request_config_free(request_config);
    /* The request lives on without the chip. */
    gpiod_chip_close(chip);
    if (!request) {
        set_error(error, err, OMNI_GPIO_STAGE_REQUEST, path);
        free(l);
        return NULL;
    }
    l->request = request;
    l->offset = offset;
    l->is_input = input;
    snprintf(l->chip_name, sizeof l->chip_name, "%s", path);
    if (input) {
        l->fd = gpiod_line_request_get_fd(request);
        l->buffer = gpiod_edge_event_buffer_new(OMNI_EDGE_BATCH);
        if (l->fd < 0 || !l->buffer || make_nonblocking(l->fd) < 0) {
            set_error(error, errno ? errno : ENOMEM, OMNI_GPIO_STAGE_REQUEST, path);
            omni_gpio_close(l);
            return NULL;
        }
    }
    return l;
}

int omni_gpio_read_edges(omni_gpio_line *l, omni_gpio_edge *edges, int max) {
    if (!l || !l->is_input) return -EINVAL;
    if (max <= 0) return 0;
    size_t want = (size_t)(max < OMNI_EDGE_BATCH ? max : OMNI_EDGE_BATCH);
    errno = 0;
    int n = gpiod_line_request_read_edge_events(l->request, l->buffer, want);
    if (n < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -(errno ? errno : EIO);
    for (int i = 0; i < n; i++) {
        struct gpiod_edge_event *ev = gpiod_edge_event_buffer_get_event(l->buffer, (unsigned long)i);
        edges[i].timestamp_ns = gpiod_edge_event_get_timestamp_ns(ev);
        edges[i].rising = gpiod_edge_event_get_event_type(ev) == GPIOD_EDGE_EVENT_RISING_EDGE;
    }
    return n;
}

int omni_gpio_get_value(omni_gpio_line *l) {
    if (!l) return -EINVAL;
    errno = 0;
    enum gpiod_line_value v = gpiod_line_request_get_value(l->request, l->offset);
    if (v == GPIOD_LINE_VALUE_ERROR) return -(errno ? errno : EIO);
    return v == GPIOD_LINE_VALUE_ACTIVE;
}

int omni_gpio_set_value(omni_gpio_line *l, int value) {
    if (!l || l->is_input) return -EINVAL;
    errno = 0;
    int r = gpiod_line_request_set_value(l->request, l->offset,
                                         value ? GPIOD_LINE_VALUE_ACTIVE : GPIOD_LINE_VALUE_INACTIVE);
    return r < 0 ? -(errno ? errno : EIO) : 0;
}

void omni_gpio_close(omni_gpio_line *l) {
    if (!l) return;
    if (l->buffer) gpiod_edge_event_buffer_free(l->buffer);
    if (l->request) gpiod_line_request_release(l->request);
    free(l);
}

int omni_gpio_api(void) { return 2; }

const char *omni_gpio_library_version(void) { return gpiod_api_version(); }

#endif

/* ---------------------------------------------------------------- common */

omni_gpio_line *omni_gpio_open_input(const omni_gpio_line_spec *spec, omni_gpio_error *error) {
    if (error) memset(error, 0, sizeof *error);
    if (!spec) return NULL;
#if OMNI_GPIOD_V2
    return v2_open(spec, 1, 0, error);
#else
    return v1_open(spec, 1, 0, error);
#endif
}

omni_gpio_line *omni_gpio_open_output(const omni_gpio_line_spec *spec, int initial_value, omni_gpio_error *error) {
    if (error) memset(error, 0, sizeof *error);
    if (!spec) return NULL;
#if OMNI_GPIOD_V2
    return v2_open(spec, 0, initial_value, error);
#else
    return v1_open(spec, 0, initial_value, error);
#endif
}

int omni_gpio_fd(omni_gpio_line *l) { return l ? l->fd : -1; }

const char *omni_gpio_chip_name(omni_gpio_line *l) { return l ? l->chip_name : ""; }

unsigned int omni_gpio_offset(omni_gpio_line *l) { return l ? l->offset : 0; }
