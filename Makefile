# Entry points: `make run` (local PBX with a demo tenant) and `make test`.
# Both install the Debian packages they need first (scripts/deps.sh).
BUILD      ?= build
BUILD_ASAN ?= build-asan
JOBS       ?= 2

.PHONY: all deps build build-asan run stop test unit integration e2e bench clean

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
	@PBX_BUILD=$(CURDIR)/$(BUILD) PBX_REDIS_SAVE=1 ./scripts/stack.sh start
	@PBX_BUILD=$(CURDIR)/$(BUILD) ./scripts/demo.sh

stop:
	@./scripts/stack.sh stop

# Unit tests (ASan/UBSan), then integration and end-to-end suites against
# real redis-server, kamailio and our services, all built with sanitizers.
test: build-asan
	@./tests/run_all.sh $(CURDIR)/$(BUILD_ASAN)

unit: build-asan
	@cd $(BUILD_ASAN) && ctest --output-on-failure

bench: build
	@./bench/run.sh $(CURDIR)/$(BUILD)

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) .run
