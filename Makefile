SHELL := /bin/bash

# Tunneler: `make run` builds the image and boots it in qemu on this
# terminal; `make test` runs every test tier. See README.md.

BOARD   ?= generic
MACHINE ?= pc
BUILD   ?= build
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
GO      ?= $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)
export PATH := $(dir $(GO)):$(PATH)

.PHONY: all deps kernel image ziti-cli run run-uefi run-bios test unit bench soak fuzz clean

all: image

deps:
	@scripts/install-deps

# The board kernel (board/generic/kernel; the qemu board boots it too):
# Debian's linux-source-6.1 with the board's drivers built in. The built
# vmlinuz is committed with a stamp of its config, build script and source
# version; this rebuilds it only when one of those changed (seconds
# otherwise; ~16 min cold on 2 cores, object tree cached in
# /var/cache/tunneler/kernel).
kernel: deps
	board/generic/kernel/build.sh

# The ziti router goes into the slot's extras; its build is cached (seconds
# when nothing changed, ~5 min cold). flock: one image build at a time.
image: deps kernel
	mkdir -p $(BUILD)
	flock $(BUILD)/.image.lock sh -c 'image/ziti/build.sh router >/dev/null && \
		$(GO) run ./image/mkimage -board $(BOARD) -build $(BUILD) -version $(VERSION)'

# The full ziti CLI: host tests run `ziti edge quickstart` with it.
ziti-cli:
	image/ziti/build.sh cli

# Direct kernel boot with the serial console on this terminal (ctrl-a x quits).
run: image
	scripts/run-qemu -board $(BOARD) -machine $(MACHINE) -firmware direct

run-uefi: image
	scripts/run-qemu -board $(BOARD) -machine $(MACHINE) -firmware uefi

run-bios: image
	scripts/run-qemu -board $(BOARD) -machine $(MACHINE) -firmware bios

# Every tier: unit, kernel (root, namespaces) and system (qemu). A tier that
# cannot run fails instead of skipping (TUNNELER_REQUIRE_ALL).
test: image ziti-cli
	@if [ "$$(id -u)" != 0 ]; then echo "make test needs root (network namespaces, nftables, qemu taps): run sudo make test" >&2; exit 1; fi
	TUNNELER_REQUIRE_ALL=1 TUNNELER_BUILD=$(abspath $(BUILD)) TUNNELER_BOARD=$(BOARD) \
		$(GO) test -count=1 -timeout 50m ./...

# Unit tests only, as any user.
unit:
	$(GO) test ./...

# Benchmarks write their figures to $(BUILD)/bench/figures.txt.
bench: image ziti-cli
	@if [ "$$(id -u)" != 0 ]; then echo "make bench needs root (namespaces, nftables, qemu taps): run sudo make bench" >&2; exit 1; fi
	mkdir -p $(BUILD)/bench
	set -o pipefail; TUNNELER_REQUIRE_ALL=1 TUNNELER_BUILD=$(abspath $(BUILD)) TUNNELER_BOARD=$(BOARD) \
		$(GO) test -count=1 -run '^$$' -bench . -benchtime 1x -timeout 50m ./... \
		| $(GO) run ./scripts/benchfigures -o $(BUILD)/bench/figures.txt
	@echo; echo "figures ($(BUILD)/bench/figures.txt):"; cat $(BUILD)/bench/figures.txt

# The soak campaign: faults on repeat (systest TestSoak*, which run only
# with TUNNELER_SOAK=1, so make test skips them). Figures go to
# $(BUILD)/soak/figures.txt. SOAK_POWERCUTS sets the number of power cuts,
# SOAK_KILLS the SIGKILLs to each of charon and the router, SOAK_REKEYS the
# CHILD_SA rekeys under a ping; then every fuzz target runs SOAK_FUZZTIME.
SOAK_POWERCUTS ?= 50
SOAK_KILLS ?= 20
SOAK_REKEYS ?= 100
SOAK_FUZZTIME ?= 60s
soak: image
	@if [ "$$(id -u)" != 0 ]; then echo "make soak needs root (qemu taps, namespaces): run sudo make soak" >&2; exit 1; fi
	mkdir -p $(BUILD)/soak
	rm -f $(BUILD)/soak/figures.txt
	set -o pipefail; TUNNELER_SOAK=1 TUNNELER_SOAK_POWERCUTS=$(SOAK_POWERCUTS) TUNNELER_SOAK_KILLS=$(SOAK_KILLS) \
		TUNNELER_SOAK_REKEYS=$(SOAK_REKEYS) TUNNELER_BUILD=$(abspath $(BUILD)) TUNNELER_BOARD=$(BOARD) \
		$(GO) test -count=1 -run '^TestSoak' -v -timeout 6h ./systest | tee $(BUILD)/soak/soak.log
	set -o pipefail; scripts/fuzz-all $(SOAK_FUZZTIME) | tee $(BUILD)/soak/fuzz.log
	tail -n 1 $(BUILD)/soak/fuzz.log >> $(BUILD)/soak/figures.txt
	@echo; echo "figures ($(BUILD)/soak/figures.txt):"; cat $(BUILD)/soak/figures.txt

FUZZTIME ?= 30s
fuzz:
	scripts/fuzz-all $(FUZZTIME)

clean:
	rm -rf $(BUILD)/$(BOARD)
