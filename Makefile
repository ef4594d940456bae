# ngx_http_infer_module
#
#   make              build build/ngx_http_infer_module.so
#   make run          serve conf/nginx.conf on 127.0.0.1:8080 (foreground)
#   make test         unit tests, fuzz smoke runs, the t/ suite, the live metrics
#   make fuzz-campaign  longer fuzzing whose finds join src/test/corpus/
#   make test-hup     the t/ suite with nginx reloaded between blocks
#   make test-live    metrics under load, reload, SIGKILL, real Prometheus
#   make test-otel    the trace exporter against a live OTLP receiver
#   make test-valgrind  the t/ suite under valgrind memcheck
#   make test-deploy  the offline checks of k8s/ (make test runs them too)
#   make test-image   build the Dockerfile with podman and run the image
#   make load         drive /predict at a rate (bench/load.sh; ARGS=...)
#   make bench        CPU per request against nginx `return 200`
#   make bench-tune   what nginx's settings change (bench/tune.sh, ~6 min)
#   make clean
#
# Each target installs the Debian packages it lacks (scripts/deps.sh).

SHELL      := /bin/bash
ROOT       := $(CURDIR)
BUILD      := $(ROOT)/build
NGINX_BIN  ?= /usr/sbin/nginx
NGINX_SRC  ?= /usr/share/nginx/src
MODULE     := $(BUILD)/ngx_http_infer_module.so

# the ONNX reader's protobuf code, generated from Debian's onnx.proto
PB_C       := $(BUILD)/onnx/onnx.pb-c.c

CORE_SRCS  := $(filter-out %.bpf.c,$(wildcard src/infer_*.c)) \
              $(wildcard src/onnx/infer_onnx_*.c) \
              $(wildcard src/otel/infer_otel*.c) \
              $(wildcard src/image/infer_*.c)
CORE_HDRS  := $(wildcard src/infer_*.h src/onnx/infer_onnx*.h \
                         src/otel/infer_otel*.h src/image/infer_*.h)
CORE_ALL   := $(CORE_SRCS) $(PB_C)
CORE_LIBS  := -lyajl -lprotobuf-c -lz -ljpeg -lpng -lm -pthread
GLUE_SRCS  := ngx_http_infer_module.c $(wildcard src/ngx_http_infer_*.[ch])
TEST_SRCS  := $(filter-out src/test/infer_unit_test.c, \
                $(wildcard src/test/infer_*_test.c src/test/*.h))

CORE_INCS  := -Isrc -Isrc/onnx -Isrc/otel -Isrc/image -I$(BUILD)/onnx
CORE_FLAGS := -std=c99 -D_GNU_SOURCE -Wall -Wextra -Werror -g $(CORE_INCS)
SANITIZE   := -O1 -fno-omit-frame-pointer -fsanitize=address,undefined
FUZZ_TIME  ?= 10

.PHONY: all deps run test unit fuzz-smoke fuzz-campaign test-hup test-live \
        test-otel \
        test-valgrind \
        test-deploy test-image load bench bench-tune clean

all: $(MODULE)

$(MODULE): config config.make scripts/build-module.sh src/infer_schedlat.bpf.c \
           $(GLUE_SRCS) \
           $(CORE_SRCS) $(CORE_HDRS)
	@scripts/deps.sh build
	@scripts/build-module.sh "$(NGINX_SRC)" "$(BUILD)/nginx" "$(ROOT)"
	@cp "$(BUILD)/nginx/objs/ngx_http_infer_module.so" $@.tmp
	@mv $@.tmp $@      # never rewritten in place: a running nginx maps it
	@echo "build: $@"

run: $(MODULE)
	@mkdir -p $(BUILD)/run/logs
	@echo "run: nginx on http://127.0.0.1:8080 (/predict /health /ready)," \
	      "Ctrl-C stops it"
	$(NGINX_BIN) -p $(BUILD)/run/ -c $(ROOT)/conf/nginx.conf \
	    -g "load_module $(MODULE); daemon off;"

# protoc-c, on the onnx.proto of libonnx-dev (or python3-onnx's)
$(PB_C):
	@scripts/deps.sh build
	@mkdir -p $(dir $@)
	@proto=$$(ls /usr/include/onnx/onnx.proto \
	             /usr/lib/python3/dist-packages/onnx/onnx.proto 2>/dev/null \
	          | head -1); \
	 echo "protoc-c $$proto"; \
	 protoc-c --c_out=$(dir $@) --proto_path=$$(dirname $$proto) $$proto

# the core alone, with the sanitizers: no nginx needed
$(BUILD)/test/unit: $(CORE_ALL) $(CORE_HDRS) $(TEST_SRCS) \
                    src/test/infer_unit_test.c
	@scripts/deps.sh build
	@mkdir -p $(dir $@)
	$(CC) $(CORE_FLAGS) $(SANITIZE) $(CORE_ALL) \
	    $(filter %.c,$(TEST_SRCS)) src/test/infer_unit_test.c \
	    $(CORE_LIBS) -o $@

# the core again at -O2 without the sanitizers (a read of an uninitialised
# field can go unseen under them: ASan's stack poisoning fills it the same
# way each time) and without SSE2, so that the portable paths a vector
# path stands in for give the same answers
$(BUILD)/test/unit_portable: $(CORE_ALL) $(CORE_HDRS) $(TEST_SRCS) \
                             src/test/infer_unit_test.c
	@scripts/deps.sh build
	@mkdir -p $(dir $@)
	$(CC) $(CORE_FLAGS) -O2 -U__SSE2__ $(CORE_ALL) \
	    $(filter %.c,$(TEST_SRCS)) src/test/infer_unit_test.c \
	    $(CORE_LIBS) -o $@

# the core compiled once for every harness (instrumented for libFuzzer)
FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer-no-link,address,undefined
FUZZ_OBJS   := $(patsubst %.c,$(BUILD)/fuzz/obj/%.o,$(CORE_SRCS)) \
               $(BUILD)/fuzz/obj/onnx.pb-c.o

.SECONDARY: $(FUZZ_OBJS)

$(BUILD)/fuzz/obj/%.o: %.c $(CORE_HDRS) $(PB_C)
	@scripts/deps.sh build test
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) $(CORE_INCS) -c $< -o $@

$(BUILD)/fuzz/obj/onnx.pb-c.o: $(PB_C)
	@scripts/deps.sh build test
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) $(CORE_INCS) -c $< -o $@

$(BUILD)/fuzz/%: src/test/infer_fuzz_%.c $(FUZZ_OBJS)
	@scripts/deps.sh build test
	@mkdir -p $(dir $@)
	clang -g -O1 -fsanitize=fuzzer,address,undefined $(CORE_INCS) \
	    $(FUZZ_OBJS) $< $(CORE_LIBS) -o $@

unit: $(BUILD)/test/unit $(BUILD)/test/unit_portable
	@cd $(ROOT) && $(BUILD)/test/unit && $(BUILD)/test/unit_portable

FUZZERS    := request model v2 traceparent xgboost onnx otel_span otel_http \
              image multipart

fuzz-smoke: $(addprefix $(BUILD)/fuzz/,$(FUZZERS))
	@scripts/fuzz.sh $(FUZZ_TIME) $(FUZZERS)

# FUZZ_SECONDS per harness, one at a time on one CPU at nice 19; what adds
# coverage joins src/test/corpus/NAME, minimised (commit it), and
# build/fuzz/campaign/summary.md has the coverage before and after
FUZZ_SECONDS ?= 300

fuzz-campaign: $(addprefix $(BUILD)/fuzz/,$(FUZZERS))
	@scripts/fuzz.sh --campaign $(FUZZ_SECONDS) $(FUZZERS)

# ONNX's operator conformance cases (libonnx-testdata), under the
# sanitizers too
$(BUILD)/test/onnx_conformance: src/test/onnx_conformance.c $(CORE_ALL) \
                                $(CORE_HDRS)
	@scripts/deps.sh build onnx
	@mkdir -p $(dir $@)
	$(CC) $(CORE_FLAGS) $(SANITIZE) $(CORE_ALL) $< $(CORE_LIBS) -o $@

$(BUILD)/test/image_tool: src/test/image_tool.c $(CORE_ALL) $(CORE_HDRS)
	@scripts/deps.sh build
	@mkdir -p $(dir $@)
	$(CC) $(CORE_FLAGS) $(SANITIZE) $(CORE_ALL) $< $(CORE_LIBS) -o $@

test: $(MODULE) $(BUILD)/test/unit $(BUILD)/test/unit_portable \
      $(addprefix $(BUILD)/fuzz/,$(FUZZERS)) \
      $(BUILD)/test/image_tool \
      $(BUILD)/test/schedlat_check $(BUILD)/test/onnx_conformance
	@scripts/deps.sh test schedlat onnx otel
	@NGINX_BIN=$(NGINX_BIN) MODULE=$(MODULE) FUZZ_TIME=$(FUZZ_TIME) \
	    FUZZERS="$(FUZZERS)" scripts/test.sh

# the metrics against a live nginx, hey and a real Prometheus (about 60 s)
test-live: $(MODULE)
	@NGINX_BIN=$(NGINX_BIN) MODULE=$(MODULE) scripts/test-metrics-live.sh

# the trace exporter against a live nginx and the OTLP receiver of t/otlp/
# (about 40 s): the wire, collector failures, reload/quit, HTTPS, make run
test-otel: $(MODULE)
	@scripts/deps.sh test otel bench
	@NGINX_BIN=$(NGINX_BIN) MODULE=$(MODULE) scripts/test.sh otel

# nginx reloaded between the blocks of a file: zones and counts survive
test-hup: $(MODULE)
	@scripts/deps.sh test schedlat onnx otel
	@NGINX_BIN=$(NGINX_BIN) MODULE=$(MODULE) TEST_NGINX_USE_HUP=1 \
	    scripts/test.sh prove

# k8s/ against the schemas, promtool, and its nginx.conf served for real
test-deploy: $(MODULE)
	@NGINX_BIN=$(NGINX_BIN) MODULE=$(MODULE) scripts/test.sh deploy

# the image built with podman on a debootstrapped base, run on loopback
test-image:
	@scripts/test-image.sh

# e.g. make load ARGS="--rate 2000 --concurrency 20 --duration 30s"
load:
	@bench/load.sh $(ARGS)

test-valgrind: $(MODULE)
	@scripts/deps.sh test valgrind onnx
	@NGINX_BIN=$(NGINX_BIN) MODULE=$(MODULE) TEST_NGINX_USE_VALGRIND=1 \
	    scripts/test.sh prove

# the XGBoost evaluator against libxgboost, the ONNX one against torch, then
# CPU and instructions per request in nginx
BENCH_DATA := $(BUILD)/bench/bench_100x6.json
# the ONNX models of the benchmarks (and of scripts/test-onnx-memory.sh)
ONNX_BENCH_DIR := $(BUILD)/bench/onnx
# a run's CPU time moves by 10-20% with the host's load on this VM: many
# short rounds give the median more to work with than a few long ones
BENCH_ROUNDS  ?= 9
BENCH_SECONDS ?= 4

bench: $(MODULE) $(BUILD)/bench/xgb_bench $(BENCH_DATA) \
       $(BUILD)/bench/metrics_bench $(BUILD)/bench/sched_attach \
       $(BUILD)/bench/onnx_bench $(ONNX_BENCH_DIR)/bench_resnet18.ref.json \
       $(BUILD)/bench/image_bench
	@scripts/deps.sh bench valgrind onnx
	@echo "=== the metrics core: an update, rendering 20 models (cpu 1)"
	@taskset -c 1 $(BUILD)/bench/metrics_bench
	@echo "=== the XGBoost evaluator against libxgboost (one thread, cpu 1)"
	@taskset -c 1 $(BUILD)/bench/xgb_bench $(BENCH_DATA) \
	    $(BUILD)/bench/bench_rows.f32
	@echo "=== the ONNX evaluator against torch (one thread each, cpu 1)"
	@ONNX_BENCH=$(BUILD)/bench/onnx_bench MODELS=$(ONNX_BENCH_DIR) \
	    bench/onnx.sh
	@echo "=== the image path against PIL + torchvision + torch (cpu 1)"
	@set -o pipefail; bench/image.sh $(BUILD)/bench/image_bench \
	    $(ONNX_BENCH_DIR) | tee $(BUILD)/bench/image.log
	@echo "=== a whole image request through nginx (ResNet-18, inline)"
	@MODULE=$(MODULE) MODELS=$(ONNX_BENCH_DIR) \
	    bench/image-request.sh $(BUILD)/bench/image.log
	@echo "=== CPU per request against nginx return 200, and probe on/off"
	@MODULE=$(MODULE) XGB_MODEL=$(BENCH_DATA) ROUNDS=$(BENCH_ROUNDS) \
	    DURATION=$(BENCH_SECONDS) XGB_REQUEST=$(BUILD)/bench/bench_row.json \
	    ONNX_MODEL=$(ONNX_BENCH_DIR)/bench_mlp.onnx OTEL=1 \
	    ONNX_REQUEST=bench/mlp30.json \
	    SCHED_ATTACH=$(BUILD)/bench/sched_attach bench/run.sh
	@MODULE=$(MODULE) DURATION=$(BENCH_SECONDS) bench/edge.sh
	@echo "=== unloaded latency: one connection, p50 and p99"
	@MODULE=$(MODULE) XGB_MODEL=$(BENCH_DATA) ROUNDS=5 CONNS=1 \
	    DURATION=$(BENCH_SECONDS) XGB_REQUEST=$(BUILD)/bench/bench_row.json \
	    bench/run.sh
	@echo "=== instructions per request (callgrind): what load does not move"
	@MODULE=$(MODULE) NGINX=$$(scripts/build-nginx-symbols.sh) \
	    XGB_MODEL=$(BENCH_DATA) XGB_REQUEST=$(BUILD)/bench/bench_row.json \
	    bench/instructions.sh

# request_pool_size, client_body_buffer_size, the access log's buffer=,
# worker_cpu_affinity and infer_thread_pool's threshold, each against
# nginx's default (bench/tune.sh; not part of make bench)
bench-tune: $(MODULE) $(BENCH_DATA)
	@scripts/deps.sh bench valgrind
	@MODULE=$(MODULE) NGINX_SYMBOLS=$$(scripts/build-nginx-symbols.sh) \
	    XGB_MODEL=$(BENCH_DATA) bench/tune.sh

# the --bench models and their .ref.json (resnet18's written last): too
# large to commit
$(ONNX_BENCH_DIR)/bench_resnet18.ref.json: t/models/gen_onnx.py
	@scripts/deps.sh onnx
	/usr/bin/python3 t/models/gen_onnx.py --bench $(ONNX_BENCH_DIR)

# -O2: what nginx builds the module with
$(BUILD)/bench/onnx_bench: bench/onnx_bench.c $(CORE_ALL) $(CORE_HDRS)
	@scripts/deps.sh build
	@mkdir -p $(dir $@)
	$(CC) -std=c99 -D_GNU_SOURCE -O2 $(CORE_INCS) bench/onnx_bench.c \
	    $(CORE_ALL) $(CORE_LIBS) -o $@

# decode and preprocess (src/image/) and ResNet-18, beside PIL, torchvision
# and torch: bench/image.sh; -O2 as nginx builds the module
$(BUILD)/bench/image_bench: src/test/infer_image_bench.c $(CORE_ALL) \
                            $(CORE_HDRS)
	@scripts/deps.sh build
	@mkdir -p $(dir $@)
	$(CC) -std=c99 -D_GNU_SOURCE -O2 $(CORE_INCS) \
	    src/test/infer_image_bench.c $(CORE_ALL) $(CORE_LIBS) -o $@

# 100 trees of depth 6 on 32 features, with its rows: too large to commit
$(BENCH_DATA): t/models/gen_fixtures.py
	@scripts/deps.sh xgboost
	/usr/bin/python3 t/models/gen_fixtures.py --bench $(dir $@)

$(BUILD)/bench/metrics_bench: src/test/infer_metrics_bench.c $(CORE_ALL) \
                              $(CORE_HDRS)
	@scripts/deps.sh build
	@mkdir -p $(dir $@)
	$(CC) -std=c99 -D_GNU_SOURCE -O2 $(CORE_INCS) $(CORE_ALL) $< \
	    $(CORE_LIBS) -o $@

# the probe attached from outside, for the predict_probe case
BPF_ARCH   := $(patsubst x86_64,x86,$(patsubst aarch64,arm64,$(shell uname -m)))

SKEL       := $(BUILD)/bpf/infer_schedlat.skel.h
SCHEDLAT   := src/infer_schedlat.c src/infer_schedlat_proc.c src/infer_core.c

$(SKEL): src/infer_schedlat.bpf.c src/infer_schedlat_abi.h \
         src/infer_schedlat_vmlinux.h
	@scripts/deps.sh build
	@mkdir -p $(dir $@)
	clang -g -O2 -target bpf -D__TARGET_ARCH_$(BPF_ARCH) -Isrc \
	    -c $< -o $(BUILD)/bpf/infer_schedlat.bpf.o
	bpftool gen skeleton $(BUILD)/bpf/infer_schedlat.bpf.o \
	    name infer_schedlat_bpf > $@

$(BUILD)/bench/sched_attach: bench/sched_attach.c $(SCHEDLAT) $(SKEL)
	@mkdir -p $(dir $@)
	$(CC) -std=c99 -D_GNU_SOURCE -O2 -DINFER_SCHEDLAT_BPF=1 \
	    -I$(BUILD)/bpf -Isrc $< $(SCHEDLAT) -lbpf -o $@

# the probe's core against the kernel's accounting, as root (make test)
$(BUILD)/test/schedlat_check: src/test/schedlat_check.c $(SCHEDLAT) $(SKEL)
	@mkdir -p $(dir $@)
	$(CC) -std=c99 -D_GNU_SOURCE -O2 -DINFER_SCHEDLAT_BPF=1 \
	    -I$(BUILD)/bpf -Isrc $< $(SCHEDLAT) -lbpf -o $@

# -O2: what nginx builds the module with
$(BUILD)/bench/xgb_bench: bench/xgb_bench.c $(CORE_ALL) $(CORE_HDRS)
	@scripts/deps.sh build xgboost
	@mkdir -p $(dir $@)
	$(CC) -std=c99 -D_GNU_SOURCE -O2 $(CORE_INCS) bench/xgb_bench.c \
	    $(CORE_ALL) -lxgboost $(CORE_LIBS) -o $@

clean:
	rm -rf $(BUILD) t/servroot*
