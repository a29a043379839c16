/*
 * One small GPIO API over libgpiod, the same whether the system has libgpiod 1.x (Debian 12,
 * Raspberry Pi OS bookworm) or 2.x (Debian 13): gpio_shim.c picks the branch at compile time
 * from gpiod.h itself. Swift (OmniLinux/GPIO) wraps this once; libgpiod types never leave the C file.
 *
 * Every call that can fail returns NULL or a negative errno and, where it takes an
 * omni_gpio_error, says which step failed (so the daemon can name the board-file key and the fix).
 */
#ifndef OMNI_GPIO_H
#define OMNI_GPIO_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** One requested line (input with edge events, or output). Opaque. */
typedef struct omni_gpio_line omni_gpio_line;

enum omni_gpio_bias {
    OMNI_GPIO_BIAS_AS_IS = 0,
    OMNI_GPIO_BIAS_DISABLE = 1,
    OMNI_GPIO_BIAS_PULL_UP = 2,
    OMNI_GPIO_BIAS_PULL_DOWN = 3,
};

/** The step that failed. */
enum omni_gpio_stage {
    OMNI_GPIO_STAGE_NONE = 0,
    /** Opening the chip (or, searching by name, any chip). */
    OMNI_GPIO_STAGE_CHIP = 1,
    /** Finding the line (no such name or offset). */
    OMNI_GPIO_STAGE_LINE = 2,
    /** Requesting the line (busy, bias not supported, permission). */
    OMNI_GPIO_STAGE_REQUEST = 3,
    /** Any later operation (read, set, …). */
    OMNI_GPIO_STAGE_IO = 4,
};

typedef struct omni_gpio_error {
    /** errno of the failure (ENOENT, EACCES, EBUSY, EINVAL, EOPNOTSUPP, …). */
    int err;
    /** enum omni_gpio_stage */
    int stage;
    /** The chip involved, when known (e.g. "/dev/gpiochip0"). */
    char chip[64];
} omni_gpio_error;

/** What to request. */
typedef struct omni_gpio_line_spec {
    /** NULL or "" = search every chip for `name`. Otherwise a chip name ("gpiochip0"), a path
     *  ("/dev/gpiochip0"), a number ("0") or a chip label ("pinctrl-bcm2711"). */
    const char *chip;
    /** The line's name (e.g. "GPIO17"); NULL or "" = use `offset` on `chip`. */
    const char *name;
    unsigned int offset;
    /** enum omni_gpio_bias */
    int bias;
    /** Nonzero: the line is active (pressed, lit) when low. */
    int active_low;
    /** Shown by gpioinfo as the line's user. */
    const char *consumer;
} omni_gpio_line_spec;

/** One edge. `rising` is the logical direction (active_low already applied): 1 = became active. */
typedef struct omni_gpio_edge {
    /** Kernel timestamp, CLOCK_MONOTONIC on kernels >= 5.7 (v1) and always with v2. */
    uint64_t timestamp_ns;
    int rising;
} omni_gpio_edge;

/** Requests an input line with both-edge events. The event fd is non-blocking. */
omni_gpio_line *omni_gpio_open_input(const omni_gpio_line_spec *spec, omni_gpio_error *error);

/** Requests an output line, driven to `initial_value` (logical) at once. */
omni_gpio_line *omni_gpio_open_output(const omni_gpio_line_spec *spec, int initial_value, omni_gpio_error *error);

/** The fd to poll (POLLIN) for edges; -1 for an output line. */
int omni_gpio_fd(omni_gpio_line *line);

/** Reads up to `max` queued edges without blocking: the count (0 when none), or -errno. */
int omni_gpio_read_edges(omni_gpio_line *line, omni_gpio_edge *edges, int max);

/** The logical value (0/1), or -errno. */
int omni_gpio_get_value(omni_gpio_line *line);

/** Sets the logical value of an output line: 0, or -errno. */
int omni_gpio_set_value(omni_gpio_line *line, int value);

/** The chip the line was found on (its device name or path) and the line's offset there. */
const char *omni_gpio_chip_name(omni_gpio_line *line);
unsigned int omni_gpio_offset(omni_gpio_line *line);

/** Releases the line and closes its chip. NULL is fine. */
void omni_gpio_close(omni_gpio_line *line);

/** 1 or 2: the libgpiod API this was compiled against. */
int omni_gpio_api(void);

/** The library's own version string ("1.6.3", "2.1.3", …). */
const char *omni_gpio_library_version(void);

#ifdef __cplusplus
}
#endif

#endif /* OMNI_GPIO_H */
