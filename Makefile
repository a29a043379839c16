# Entry points; the logic lives in scripts/ so CI and people run the same thing.
PREFIX ?= /usr
DESTDIR ?=

.PHONY: demo test release setup install deb bench clean

demo:
	scripts/demo.sh

test:
	scripts/test.sh

release:
	scripts/release.sh

setup:
	scripts/setup.sh

install:
	PREFIX=$(PREFIX) DESTDIR=$(DESTDIR) scripts/install.sh

deb:
	scripts/deb.sh

# BENCH_ARGS: e.g. "--lifecycle-seconds 600" for 10 minutes of the hour's lifecycle soak.
BENCH_ARGS ?=
bench:
	bench/run.sh $(BENCH_ARGS)

clean:
	rm -rf .build .build-* out

# Fuzzing (fuzz/README.md): every target for FUZZ_SECONDS each (30 by default, as in CI).
FUZZ_SECONDS ?= 30
.PHONY: fuzz
fuzz:
	fuzz/run.sh $(FUZZ_SECONDS)

# The virtual board: Debian 12's kernel and systemd under qemu with snd-aloop, vivid and gpio-sim,
# the .deb installed with apt, every scenario against the real unit (vm/README.md).
.PHONY: vm-test
vm-test:
	vm/test.sh
