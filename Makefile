# ros-build: `make iso` builds the OS and a bootable ISO; `make test` runs every test.
REPO    ?= rancher/os2
TAG     ?= dev
PROFILE ?=
SPEC    ?= os.yaml
FLAGS   ?=
TIMEOUT ?= 420
# Signing: a cosign key pair (make keygen), or KEYLESS=1 for Sigstore keyless signing in CI.
KEY     ?= cosign.key
PUB     ?= $(basename $(KEY)).pub
KEYLESS ?=
# Where machines fetch the netboot files: qemu's user network reaches the host there, so `ros-build boot build/netboot`
# serves and boots them as built; give your server's address for real machines (make netboot NETBOOT_URL=http://…).
NETBOOT_URL ?= http://10.0.2.2:8080

ROS_BUILD = node dist/cli.js
# The integration and e2e tests start a second dockerd, add a network bridge and
# bootstrap with mmdebstrap: root's work. CI runner users have passwordless sudo.
AS_ROOT := $(shell [ "$$(id -u)" = 0 ] || echo sudo -E env "PATH=$$PATH")
SPEC_FLAGS = --spec $(SPEC) --repo $(REPO) --tag $(TAG) $(if $(PROFILE),--profile $(PROFILE)) $(FLAGS)
SIGN_FLAGS = $(if $(KEYLESS),--keyless,--key $(KEY))


.PHONY: all setup compile build iso disk netboot smoke push sign verify keygen release builder builder-release test test-unit test-integration test-e2e bench bench-publish plan clean

all: iso

setup:
	./tools/setup-host.sh

# Compile only when a source changed: make skips tsc (12 s) when dist/.stamp is newer than every input.
SOURCES := $(shell find src -name '*.ts' -o -name '*.json') tsconfig.json package-lock.json
# The node's tool `ros`, bundled into the ros layer's context (images/ros): the launcher ros.cjs, ros-main.cjs and ros-upgrade.cjs,
# and the node configuration reference (docs/configuration.md).
ROS_BUNDLE_DIR := images/ros/files/usr/lib/ros
ROS_BUNDLE := $(ROS_BUNDLE_DIR)/ros.cjs
# The Node.js that runs it on a node: upstream's build, pinned (tools/node-runtime.json), fetched once into build/.cache.
ROS_NODE := $(ROS_BUNDLE_DIR)/node
compile: setup dist/.stamp $(ROS_BUNDLE) $(ROS_NODE)
dist/.stamp: $(SOURCES)
	npx tsc -p tsconfig.json --incremental --tsBuildInfoFile dist/.tsbuildinfo
	@touch $@
$(ROS_BUNDLE): $(SOURCES) tools/bundle-ros.mjs docs/configuration.md
	node tools/bundle-ros.mjs $@
$(ROS_NODE): tools/node-runtime.json tools/fetch-node-runtime.mjs
	node tools/fetch-node-runtime.mjs $@

build: compile
	$(ROS_BUILD) build $(SPEC_FLAGS)

iso: compile
	$(ROS_BUILD) iso $(SPEC_FLAGS)

disk: compile
	$(ROS_BUILD) disk $(SPEC_FLAGS)

netboot: compile
	$(ROS_BUILD) netboot $(SPEC_FLAGS) --url $(NETBOOT_URL)

plan: compile
	$(ROS_BUILD) plan $(SPEC_FLAGS)

smoke: compile
	iso=$$($(ROS_BUILD) iso $(SPEC_FLAGS)) && \
	$(ROS_BUILD) boot "$$iso" --firmware bios --timeout $(TIMEOUT) && \
	$(ROS_BUILD) boot "$$iso" --firmware uefi --timeout $(TIMEOUT)

push: compile
	$(ROS_BUILD) push $(SPEC_FLAGS)

sign: compile
	$(ROS_BUILD) sign $(SPEC_FLAGS) $(SIGN_FLAGS)

verify: compile
	$(ROS_BUILD) verify $(SPEC_FLAGS) --key $(PUB)

keygen: compile
	$(ROS_BUILD) keygen --output-prefix $(basename $(KEY))

# The builder image (builder/Dockerfile): ros-build and every tool it runs, for machines with only a Docker engine.
# Its base is the OS's Debian release: here the one ros-build bootstraps (no Docker Hub), elsewhere debian:bookworm.
BUILDER_IMAGE ?= ros-build:dev
BUILDER_BASE  ?= debian:bookworm
BUILDER_CONTEXT := build/builder-context
builder: compile
	rm -rf $(BUILDER_CONTEXT) && mkdir -p $(BUILDER_CONTEXT)/app
	cp -a dist iso schema images overlays os.yaml package.json package-lock.json $(BUILDER_CONTEXT)/app/
	rm -f $(BUILDER_CONTEXT)/app/dist/.stamp $(BUILDER_CONTEXT)/app/dist/.tsbuildinfo
	cd $(BUILDER_CONTEXT)/app && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error
	cp builder/entrypoint.sh $(BUILDER_CONTEXT)/
	docker image inspect $(BUILDER_BASE) >/dev/null 2>&1 || $(ROS_BUILD) build $(SPEC_FLAGS)
	docker build --build-arg BASE=$(BUILDER_BASE) -t $(BUILDER_IMAGE) -f builder/Dockerfile $(BUILDER_CONTEXT)
	@docker image inspect $(BUILDER_IMAGE) --format 'builder: $(BUILDER_IMAGE) {{.Id}} ({{.Size}} bytes)'

# Publish the builder beside the OS image: tag it BUILDER_REPO:TAG, push it with the engine (logged in with
# REGISTRY_USERNAME/REGISTRY_PASSWORD when set), and sign the pushed digest with cosign (KEYLESS=1 in CI, or KEY).
BUILDER_REPO ?= ros-build
builder-release: builder
	docker tag $(BUILDER_IMAGE) $(BUILDER_REPO):$(TAG)
	@if [ -n "$$REGISTRY_PASSWORD" ]; then printf '%s' "$$REGISTRY_PASSWORD" | docker login "$$(echo $(BUILDER_REPO) | cut -d/ -f1)" -u "$$REGISTRY_USERNAME" --password-stdin; fi
	docker push $(BUILDER_REPO):$(TAG)
	cosign sign --yes $(if $(KEYLESS),,--key $(KEY)) "$$(docker image inspect --format '{{index .RepoDigests 0}}' $(BUILDER_REPO):$(TAG))"

# The whole release, the same locally and in CI: build, boot-test, push, sign.
release: compile
	$(MAKE) --no-print-directory smoke
	$(MAKE) --no-print-directory push
	$(MAKE) --no-print-directory sign

test: compile
	$(AS_ROOT) npx vitest run

test-unit: compile
	npx vitest run test/unit

test-integration: compile
	$(AS_ROOT) npx vitest run test/integration

test-e2e: compile
	$(AS_ROOT) npx vitest run test/e2e

bench: compile
	node dist/bench/run.js

bench-publish: compile
	node dist/bench/publish.js

# clean: what ros-build and tsc wrote in this checkout: build/ (media, manifest.json,
# SHA256SUMS, logs, the rootfs caches and output records under build/.cache, the tests'
# build/test*), dist/ (the compiled CLI) and the bundled `ros` in images/ros. The Docker engine's images stay, the OS image
# REPO:TAG and the ros-build/* layer images included: `make prune` removes the layer images
# and caches this spec no longer uses, `make prune FLAGS=--all` all that ros-build made.
clean:
	@echo "clean: removing build/ (media, manifest, logs, build/.cache, test outputs) dist/ (compiled CLI) and $(ROS_BUNDLE_DIR); engine images stay: make prune"
	rm -rf build dist $(ROS_BUNDLE_DIR)

# prune: the layer images, cache directories and output records no plan of this spec uses;
# what running builds use stays. FLAGS=--dry-run lists them, FLAGS=--all removes all ros-build made.
.PHONY: prune
prune: compile
	$(ROS_BUILD) prune $(SPEC_FLAGS)
