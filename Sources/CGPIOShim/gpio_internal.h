/*
 * gpio_internal.h - what the CGPIOShim files share: which libgpiod API this is built against,
 * the line handle behind omni_gpio.h's opaque type, and the helpers both API versions use.
 * Not part of the module's public headers (it lives beside the .c files).
 */
#ifndef OMNI_GPIO_INTERNAL_H
#define OMNI_GPIO_INTERNAL_H

#include "omni_gpio.h"

#include <gpiod.h>

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

int omni_gpio_has_text(const char *s);
void omni_gpio_set_error(omni_gpio_error *e, int err, int stage, const char *chip);
int omni_gpio_make_nonblocking(int fd);
omni_gpio_line *omni_gpio_new_line(void);

/* The version-specific opener (gpio_v1.c or gpio_v2.c; the other compiles to nothing). */
omni_gpio_line *omni_gpio_open_line(const omni_gpio_line_spec *spec, int input, int initial, omni_gpio_error *error);

#endif /* OMNI_GPIO_INTERNAL_H */
