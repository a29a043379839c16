# Entry points; the logic lives in scripts/ so CI and people run the same thing.
PREFIX ?= /usr
DESTDIR ?=

.PHONY: demo test release setup clean

demo:
	scripts/demo.sh

test:
	scripts/test.sh

release:
	scripts/release.sh

setup:
	scripts/setup.sh

clean:
	rm -rf .build .build-* out
