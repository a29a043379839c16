/* libgpiod 2.x (Debian 13 and later): the request/settings/config API. See gpio_shim.c. */
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

#if OMNI_GPIOD_V2
/* ---------------------------------------------------------------- libgpiod 2.x */

static int is_number(const char *s) {
    if (!omni_gpio_has_text(s)) return 0;
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
    if (omni_gpio_has_text(spec->chip)) {
        int err = 0;
        struct gpiod_chip *chip = v2_open_chip(spec->chip, path, path_len, &err);
        if (!chip) {
            omni_gpio_set_error(error, err, OMNI_GPIO_STAGE_CHIP, spec->chip);
            return NULL;
        }
        if (omni_gpio_has_text(spec->name)) {
            errno = 0;
            int off = gpiod_chip_get_line_offset_from_name(chip, spec->name);
            if (off < 0) {
                omni_gpio_set_error(error, errno ? errno : ENOENT, OMNI_GPIO_STAGE_LINE, path);
                gpiod_chip_close(chip);
                return NULL;
            }
            *offset = (unsigned int)off;
        } else {
            struct gpiod_chip_info *info = gpiod_chip_get_info(chip);
            size_t lines = info ? gpiod_chip_info_get_num_lines(info) : 0;
            if (info) gpiod_chip_info_free(info);
            if (spec->offset >= lines) {
                omni_gpio_set_error(error, ENOENT, OMNI_GPIO_STAGE_LINE, path);
                gpiod_chip_close(chip);
                return NULL;
            }
            *offset = spec->offset;
        }
        return chip;
    }
    if (!omni_gpio_has_text(spec->name)) {
        omni_gpio_set_error(error, EINVAL, OMNI_GPIO_STAGE_LINE, "");
        return NULL;
    }
    char **paths;
    int n = list_chips(&paths);
    if (n < 0) {
        omni_gpio_set_error(error, errno, OMNI_GPIO_STAGE_CHIP, "/dev");
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
            omni_gpio_set_error(error, denied, OMNI_GPIO_STAGE_CHIP, denied_path);
        else
            omni_gpio_set_error(error, ENOENT, OMNI_GPIO_STAGE_LINE, "");
    }
    return found;
}

static omni_gpio_line *v2_open(const omni_gpio_line_spec *spec, int input, int initial, omni_gpio_error *error) {
    char path[64] = "";
    unsigned int offset = 0;
    struct gpiod_chip *chip = v2_find(spec, &offset, path, sizeof path, error);
    if (!chip) return NULL;

    omni_gpio_line *l = omni_gpio_new_line();
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
        gpiod_request_config_set_consumer(request_config, omni_gpio_has_text(spec->consumer) ? spec->consumer : "omnid");
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
        omni_gpio_set_error(error, err, OMNI_GPIO_STAGE_REQUEST, path);
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
        if (l->fd < 0 || !l->buffer || omni_gpio_make_nonblocking(l->fd) < 0) {
            omni_gpio_set_error(error, errno ? errno : ENOMEM, OMNI_GPIO_STAGE_REQUEST, path);
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

omni_gpio_line *omni_gpio_open_line(const omni_gpio_line_spec *spec, int input, int initial, omni_gpio_error *error) {
    return v2_open(spec, input, initial, error);
}

#endif
