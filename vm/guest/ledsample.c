/* Samples the LED lines of the VM board every 2 ms and writes each change as
 * "SECONDS.MICROS RGBC" (lines 1-4: red, green, blue, the camera's privacy LED) to stdout until
 * the file STOPFILE exists. Built statically on the host by vm/test.sh and copied into the guest: a bash loop costs too much CPU under TCG.
 *   ledsample CHIPDIR STOPFILE            (CHIPDIR = /sys/devices/platform/gpio-sim.0/gpiochipN) */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: ledsample CHIPDIR STOPFILE\n"); return 2; }
    int fd[4];
    for (int i = 0; i < 4; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/sim_gpio%d/value", argv[1], i + 1);
        fd[i] = open(path, O_RDONLY);
        if (fd[i] < 0) { perror(path); return 1; }
    }
    char prev[5] = "", cur[5] = "";
    struct timespec tick = {0, 2 * 1000 * 1000};
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (unsigned n = 0;; n++) {
        for (int i = 0; i < 4; i++) {
            char b[8];
            ssize_t r = pread(fd[i], b, sizeof b, 0);
            cur[i] = r > 0 ? b[0] : '?';
        }
        cur[4] = 0;
        if (strcmp(cur, prev) != 0) {
            struct timeval tv;
            gettimeofday(&tv, NULL);
            printf("%ld.%06ld %s\n", (long)tv.tv_sec, (long)tv.tv_usec, cur);
            memcpy(prev, cur, 5);
        }
        if (n % 25 == 0 && access(argv[2], F_OK) == 0) break;
        nanosleep(&tick, NULL);
    }
    struct timeval tv;
    gettimeofday(&tv, NULL);
    printf("%ld.%06ld end\n", (long)tv.tv_sec, (long)tv.tv_usec);
    return 0;
}
