# Entry points; the logic lives in scripts/ so CI and people run the same thing.
PREFIX ?= /usr
DESTDIR ?=

.PHONY: demo test release setup install deb clean

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

clean:
	rm -rf .build .build-* out
