# Entry points: `make run` (local PBX with a demo tenant) and `make test`.
# Both install the Debian packages they need first (scripts/deps.sh).
BUILD      ?= build
BUILD_ASAN ?= build-asan
JOBS       ?= 2

.PHONY: all deps build build-asan run stop test unit integration e2e bench clean \
	compose-build compose-up compose-down compose-test

all: build

deps:
	@./scripts/deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

build-asan: deps
	@cmake -S . -B $(BUILD_ASAN) -DCMAKE_BUILD_TYPE=Debug -DPBX_SANITIZE=ON >/dev/null
	@cmake --build $(BUILD_ASAN) -j $(JOBS)

run: build
	@PBX_BUILD=$(CURDIR)/$(BUILD) PBX_REDIS_SAVE=1 PBX_ASR=$${PBX_ASR:-1} ./scripts/stack.sh start
	@PBX_BUILD=$(CURDIR)/$(BUILD) ./scripts/demo.sh

stop:
	@./scripts/stack.sh stop

# Unit tests (ASan/UBSan), then integration and end-to-end suites against
# real redis-server, kamailio and our services, all built with sanitizers.
# The release build first: `make run` builds it, and -O2 finds warnings
# (-Werror) the debug build does not. The compose suite's images build in
# the background meanwhile (tests/compose_prebuild.sh; no-op without Docker).
test: deps
	@./tests/compose_prebuild.sh start
	@$(MAKE) --no-print-directory build build-asan
	@./tests/run_all.sh $(CURDIR)/$(BUILD_ASAN)

unit: build-asan
	@cd $(BUILD_ASAN) && ctest --output-on-failure

bench: build
	@./bench/run.sh $(CURDIR)/$(BUILD)

# The docker compose stack (docker/README.md): images from the local Debian
# base, the stack as project "pbx" with COMPOSE_WORKERS media workers, the
# demo tenant provisioned. compose-down keeps the volumes (keys, Redis).
COMPOSE         ?= docker-compose -p pbx -f docker/compose.yaml
COMPOSE_WORKERS ?= 2
COMPOSE_NET     ?= $(or $(PBX_NET),172.28.5)

compose-build:
	@./docker/base-image.sh
	@$(COMPOSE) build -q

compose-up: compose-build
	@$(COMPOSE) up -d --scale media-worker=$(COMPOSE_WORKERS)
	@mkdir -p .run/compose && PBX_RUN=$(CURDIR)/.run/compose \
		PBXCTL=$(CURDIR)/docker/pbxctl.sh \
		PBX_DEMO_SIP=$(COMPOSE_NET).11:5060 \
		PBX_DEMO_CALLER_IP=$(COMPOSE_NET).1 \
		PBX_DEMO_STOP="stop with: make compose-down" ./scripts/demo.sh

compose-down:
	@$(COMPOSE) down

# Builds the images, runs the stack as project "pbxtest", tears it down.
compose-test: build
	@PBX_BUILD=$(CURDIR)/$(BUILD) ./tests/compose/test_compose.sh

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) .run
