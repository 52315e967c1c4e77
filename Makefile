# poets build. `make` builds build/poets and build/libpoets.a; `make test` builds and runs the
# tests; `make test SAN=1` does the same under AddressSanitizer + UBSan (in build-san/).
# CUDA sources (kernels/*.cu, src/backend/cuda/*.c) are compiled when nvcc is found.

SAN ?= 0
BUILD ?= $(if $(filter 1,$(SAN)),build-san,build)
CC ?= cc
ifeq ($(origin CC),default)
CC := gcc
endif

VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
WARN := -Wall -Wextra -Wshadow -Wno-unused-parameter -Werror
SANFLAGS := -fsanitize=address,undefined
SAN_OPT := -O1 -g $(SANFLAGS) -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OPT := $(if $(filter 1,$(SAN)),$(SAN_OPT),-O2 -g -ftree-vectorize -fvect-cost-model=dynamic)
CFLAGS := -std=c11 -ffp-contract=off -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L -DPOETS_VERSION=\"$(VERSION)\" \
          -Iinclude -Isrc -Itests/support -fopenmp $(WARN) $(OPT) $(EXTRA_CFLAGS)
LDFLAGS := -fopenmp $(if $(filter 1,$(SAN)),$(SANFLAGS))
BLAS_CFLAGS := $(shell pkg-config --cflags openblas 2>/dev/null || echo -I/usr/include/x86_64-linux-gnu/openblas-pthread)
LIBS := $(shell pkg-config --libs openblas 2>/dev/null || echo -lopenblas) -lz -lm -lyaml
# HDF5 (run files, src/store/): serial library, Debian layout as fallback.
BLAS_CFLAGS += $(shell pkg-config --cflags hdf5-serial 2>/dev/null || echo -I/usr/include/hdf5/serial)
LIBS += $(shell pkg-config --libs hdf5-serial 2>/dev/null || echo -lhdf5_serial)

# Ranks (src/comm/): MPI when OpenMPI's mpicc is there (scripts/install-deps.sh installs it),
# a single-process build otherwise.
MPI_CFLAGS := $(shell mpicc --showme:compile 2>/dev/null)
MPI_LIBS := $(shell mpicc --showme:link 2>/dev/null)
COMM_SRC := $(if $(MPI_LIBS),src/comm/comm_mpi.c,src/comm/comm_single.c)
LIBS += $(MPI_LIBS)
CORE_SRC := $(sort $(wildcard src/core/*.c src/model/*.c src/lora/*.c src/backend/cpu/*.c)) $(COMM_SRC)

# CUDA backend (kernels/*.cu with nvcc, src/backend/cuda/*.c with $(CC)) when nvcc is found on
# PATH or in /usr/local/cuda; otherwise, or with `make CUDA=0`, src/backend/cuda/absent.c, whose
# poets_backend_cuda says the build has no CUDA. One architecture (sm_90 + its PTX) keeps the
# build short; CUDA_ARCH=100 etc. for other GPUs.
CUDA ?= 1
NVCC ?= $(shell command -v nvcc 2>/dev/null || ls /usr/local/cuda/bin/nvcc 2>/dev/null)
CUDA_ARCH ?= 90
ifeq ($(CUDA)$(if $(NVCC),found),1found)
CUDA_HOME := $(patsubst %/bin/nvcc,%,$(NVCC))
CUDA_HOST_SRC := $(filter-out src/backend/cuda/absent.c,$(sort $(wildcard src/backend/cuda/*.c)))
CU_SRC := $(sort $(wildcard kernels/*.cu))
CFLAGS += -DPOETS_CUDA -I. -I$(CUDA_HOME)/include
LIBS += -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 -lcublas -lcudart -ldl -lstdc++
else
CUDA_HOST_SRC := src/backend/cuda/absent.c
CU_SRC :=
endif
CU_OBJ := $(patsubst %.cu,$(BUILD)/obj/%.o,$(CU_SRC))
NVCCFLAGS := -std=c++17 -O3 -lineinfo -gencode arch=compute_$(CUDA_ARCH),code=[sm_$(CUDA_ARCH),compute_$(CUDA_ARCH)] \
             -Werror all-warnings -Xcompiler -Wall,-Wextra,-Werror
CORE_SRC += $(sort $(wildcard src/backend/*.c)) $(CUDA_HOST_SRC)
LOOP_SRC := $(sort $(wildcard src/poets/*.c src/objectives/*.c src/store/*.c))
CLI_SRC := $(sort $(wildcard src/cli/*.c))
LIB_SRC := $(CORE_SRC) $(LOOP_SRC) $(CLI_SRC)
LIB_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRC))
TEST_SRC := $(sort $(wildcard tests/unit/test_*.c))
TEST_BIN := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(TEST_SRC))
TEST_SUPPORT := $(patsubst %.c,$(BUILD)/obj/%.o,$(sort $(wildcard tests/support/*.c)))
BENCH_SRC := $(sort $(wildcard bench/*.c))
BENCH_BIN := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))
GPU_BIN := $(patsubst tests/gpu/%.c,$(BUILD)/gpu/%,$(sort $(wildcard tests/gpu/*.c)))
# CUDA benchmarks (bench/*.cu), in CUDA builds only
BENCH_CU_BIN := $(if $(CU_SRC),$(patsubst bench/%.cu,$(BUILD)/bench/%,$(sort $(wildcard bench/*.cu))))

.PHONY: all test fuzz bench clean deps demo profile
# Keep intermediate objects: make would otherwise delete them after `make test`, printing `rm`
# lines after the test runner's closing "N passed, N failed" line.
.SECONDARY:
all: $(BUILD)/poets $(BUILD)/libpoets.a $(GPU_BIN)

# Every build first makes sure the distribution packages are there (idempotent, quick when
# they are): the README's two commands work on a fresh machine.
deps:
	@bash scripts/install-deps.sh

$(BUILD)/obj/%.o: %.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(BLAS_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/src/comm/comm_mpi.o: BLAS_CFLAGS += $(MPI_CFLAGS)

$(BUILD)/obj/kernels/%.o: kernels/%.cu | deps
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCCFLAGS) -MMD -MP -MF $(@:.o=.d) -c $< -o $@

$(BUILD)/obj/bench/%.o: bench/%.cu | deps
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCCFLAGS) -MMD -MP -MF $(@:.o=.d) -c $< -o $@

$(BUILD)/libpoets.a: $(LIB_OBJ) $(CU_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/poets: $(BUILD)/obj/src/main.o $(BUILD)/libpoets.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(TEST_SUPPORT) $(BUILD)/libpoets.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(BUILD)/libpoets.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

bench: $(BENCH_BIN) $(BENCH_CU_BIN)

# GPU checks (tests/gpu/): built with everything else so they keep compiling; run by
# tests/gpu/run.sh on a GPU node.
$(BUILD)/gpu/%: $(BUILD)/obj/tests/gpu/%.o $(BUILD)/libpoets.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# Developer tools (tools/*.c), e.g. the hand PEFT round-trip check of tests/fixtures/README.md.
TOOLS_BIN := $(patsubst tools/%.c,$(BUILD)/tools/%,$(sort $(wildcard tools/*.c)))
.PHONY: tools
tools: $(TOOLS_BIN)
$(BUILD)/tools/%: $(BUILD)/obj/tools/%.o $(BUILD)/libpoets.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# libFuzzer targets (clang). Built into build-fuzz/, run briefly by the test suite.
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN := $(patsubst tests/fuzz/%.c,build-fuzz/%,$(FUZZ_SRC))
FUZZ_LIB_SRC := src/core/error.c src/core/json.c src/model/safetensors.c src/objectives/qasm_lex.c src/objectives/qasm_parse.c src/objectives/statevector.c
fuzz: $(FUZZ_BIN)
build-fuzz/%: tests/fuzz/%.c $(FUZZ_LIB_SRC)
	@mkdir -p $(dir $@)
	clang -std=c11 -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L -Iinclude -Isrc -g -O1 \
	      -fsanitize=fuzzer,address,undefined -o $@ $^ -lm

# benches and tools are built too, so that they keep compiling
test: $(BUILD)/poets $(TEST_BIN) $(BENCH_BIN) $(BENCH_CU_BIN) $(TOOLS_BIN) $(GPU_BIN)
	@BUILD=$(BUILD) bash tests/run.sh

# The main job: POETS on GB1 with the shipped model, then the report (a new run file each time;
# nothing is overwritten).
DEMO_STAMP := $(shell date +%Y%m%d-%H%M%S)
demo: $(BUILD)/poets
	@mkdir -p runs
	$(BUILD)/poets run experiments/gb1.yaml --out runs/gb1-$(DEMO_STAMP).h5
	$(BUILD)/poets report runs/gb1-$(DEMO_STAMP).h5 --svg runs/gb1-$(DEMO_STAMP).svg
	@echo "plot: runs/gb1-$(DEMO_STAMP).svg"

# Profiling on a GPU node (docs/architecture.md, "CUDA backend"): a short GB1 run on the GPU
# under Nsight Systems (NVTX ranges: the loop's phases and every layer's forward/backward), then
# Nsight Compute on the kernels of one layer's forward. Prints each command before running it;
# without nsys/ncu it only prints them.
PROFILE_OUT := $(BUILD)/profile
PROFILE_RUN := $(BUILD)/poets run experiments/gb1.yaml --set device=cuda --rounds 2 --quiet
profile: $(BUILD)/poets
	@mkdir -p $(PROFILE_OUT)
	@set -e; for cmd in \
	  "nsys profile --trace=cuda,nvtx,cublas --force-overwrite=true -o $(PROFILE_OUT)/timeline $(PROFILE_RUN) --out $(PROFILE_OUT)/nsys.h5" \
	  "ncu --nvtx --nvtx-include 'forward layer 0/' --launch-count 40 --set full -f -o $(PROFILE_OUT)/kernels $(PROFILE_RUN) --out $(PROFILE_OUT)/ncu.h5"; do \
	  echo "$$cmd"; \
	  if command -v $${cmd%% *} >/dev/null; then rm -f $(PROFILE_OUT)/*.h5; eval "$$cmd"; else echo "($${cmd%% *} not found: command not run)"; fi; \
	done

clean:
	rm -rf build build-san build-fuzz

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
