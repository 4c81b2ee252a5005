# ros-build: `make iso` builds the OS and a bootable ISO; `make test` runs every test.
REPO    ?= rancher/os2
TAG     ?= dev
PROFILE ?=
SPEC    ?= os.yaml
FLAGS   ?=
TIMEOUT ?= 420

ROS_BUILD = node dist/cli.js
SPEC_FLAGS = --spec $(SPEC) --repo $(REPO) --tag $(TAG) $(if $(PROFILE),--profile $(PROFILE)) $(FLAGS)

.PHONY: all setup compile build iso smoke test test-unit test-integration test-e2e bench plan clean

all: iso

setup:
	./tools/setup-host.sh

compile: setup
	npm run --silent build

build: compile
	$(ROS_BUILD) build $(SPEC_FLAGS)

iso: compile
	$(ROS_BUILD) iso $(SPEC_FLAGS)

plan: compile
	$(ROS_BUILD) plan $(SPEC_FLAGS)

smoke: compile
	iso=$$($(ROS_BUILD) iso $(SPEC_FLAGS)) && \
	$(ROS_BUILD) boot "$$iso" --firmware bios --timeout $(TIMEOUT) && \
	$(ROS_BUILD) boot "$$iso" --firmware uefi --timeout $(TIMEOUT)

test: compile
	npx vitest run

test-unit: compile
	npx vitest run test/unit

test-integration: compile
	npx vitest run test/integration

test-e2e: compile
	npx vitest run test/e2e

bench: compile
	node dist/bench/run.js

clean:
	rm -rf build dist
