# Swiftlet — build, test, run.  `make help` lists the targets.
SWIFT ?= swift
RELEASE_BIN = .build/release/swiftlet

.PHONY: help deps build release test examples demo bench info clean

help:
	@echo "make demo    - train a small character model on tinyshakespeare (~3 min) and sample from it"
	@echo "make test    - install what is missing, build, run every test"
	@echo "make build   - debug build        make release - optimized build"
	@echo "make bench   - benchmark harness (kernels, attention, training step)"
	@echo "make info    - OpenMP, threads and ISA path in use"

# OpenMP runtime: Debian's libomp-dev. Installed only when missing (needs root, as on CI).
deps:
	@if [ ! -e /usr/lib/x86_64-linux-gnu/libomp5.so ] && [ ! -e /usr/lib/aarch64-linux-gnu/libomp5.so ]; then \
		echo "installing libomp-dev (OpenMP runtime)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libomp-dev; \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

# Tests run serially: kernels use every core and some tests switch the process-wide ISA path.
# The Examples package is built and run first so the test summary is the last thing printed.
test: deps examples
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --no-parallel

# The Examples package uses Swiftlet as another package would (dependency by path).
examples: deps
	$(SWIFT) run --package-path Examples TrainTiny

demo: release
	$(RELEASE_BIN) train --preset tiny --out runs/demo
	$(RELEASE_BIN) sample --checkpoint runs/demo --prompt "ROMEO:" --max-new-tokens 300

bench: release
	$(RELEASE_BIN) bench

info: release
	$(RELEASE_BIN) info

clean:
	rm -rf .build
