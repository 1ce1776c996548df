# pinscope build. `make help` lists the targets.
#
# Chain (libbpf-bootstrap shape): bpf/X.bpf.c -> $(OUTPUT)/bpf/X.bpf.o (clang -target bpf, then
# bpftool gen object) -> $(OUTPUT)/X.skel.h (bpftool gen skeleton) -> src/*.o -> pinscope.
# Variants share the BPF objects and skeletons: SAN=1 builds user space with ASan+UBSan,
# STATIC=1 links statically (the QEMU guest tier needs it). `make static` and `make test` call
# make again with those set and their own OUTPUT.

OUTPUT ?= .output
SAN ?=
STATIC ?=
V ?=

ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
CLANG ?= clang
BPFTOOL ?= bpftool
CC ?= gcc
PREFIX ?= /usr/local
DESTDIR ?=
VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
GIT_REV := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

VMLINUX_DIR := vmlinux/$(ARCH)
ifeq ($(wildcard $(VMLINUX_DIR)/vmlinux.h),)
$(error no $(VMLINUX_DIR)/vmlinux.h for arch '$(ARCH)': run 'make vmlinux' on a kernel with BTF)
endif

# The BPF objects are shared by every variant, so they live in BPF_OUT, not OUTPUT.
BPF_OUT ?= $(OUTPUT)/bpf
BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(BPF_OUT)/%.bpf.o,$(BPF_SRCS))
SKELS := $(patsubst bpf/%.bpf.c,$(BPF_OUT)/%.skel.h,$(BPF_SRCS))

# clang -target bpf must still find the system's asm/ headers: pass gcc's search dirs on.
CLANG_BPF_SYS_INCLUDES ?= $(shell $(CLANG) -v -E - </dev/null 2>&1 \
	| sed -n '/<...> search starts here:/,/End of search list./{ s| \(/.*\)|-idirafter \1|p }')
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -I$(VMLINUX_DIR) -Ibpf \
	-Wall -Werror -Wno-unused-function $(CLANG_BPF_SYS_INCLUDES)

WARN := -Wall -Wextra -Werror -Wshadow -Wno-missing-field-initializers
CFLAGS ?= -g -O2
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) -I$(BPF_OUT) -Ibpf -Isrc \
	-DPS_VERSION='"$(VERSION)"' -DPS_GIT_REV='"$(GIT_REV)"' -MMD -MP
LIBS := -lbpf -lelf -lz
ifeq ($(SAN),1)
ALL_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
ALL_LDFLAGS += -fsanitize=address,undefined
endif
ifeq ($(STATIC),1)
ALL_LDFLAGS += -static
LIBS += -lzstd -llzma
endif
ALL_LDFLAGS += $(LDFLAGS)

SRCS := $(wildcard src/*.c)
OBJS := $(patsubst src/%.c,$(OUTPUT)/src/%.o,$(SRCS))
# The unit tests link every module but main.o, so a new module needs no list edited.
LIB_OBJS := $(filter-out $(OUTPUT)/src/main.o,$(OBJS))
UNIT_SRCS := $(wildcard tests/unit/*.c)
TOOLS_SRCS := $(wildcard tools/*.c)
TOOLS := $(patsubst tools/%.c,$(OUTPUT)/tools/%,$(TOOLS_SRCS))

.PHONY: all
all: $(OUTPUT)/pinscope $(TOOLS)

$(OUTPUT) $(OUTPUT)/src $(OUTPUT)/tools $(OUTPUT)/tests $(BPF_OUT):
	$(Q)mkdir -p $@

# pins_sys claims churn slots and tlb its latency stamps with cmpxchg: BPF atomics of ISA v3
# (kernel 5.12+; pinscope needs 6.1)
$(BPF_OUT)/pins_sys.bpf.o $(BPF_OUT)/tlb.bpf.o: BPF_CFLAGS += -mcpu=v3

$(BPF_OUT)/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h) $(VMLINUX_DIR)/vmlinux.h | $(BPF_OUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $(@:.bpf.o=.tmp.bpf.o)
	$(Q)$(BPFTOOL) gen object $@ $(@:.bpf.o=.tmp.bpf.o)

$(BPF_OUT)/%.skel.h: $(BPF_OUT)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@

$(OUTPUT)/src/%.o: src/%.c $(SKELS) | $(OUTPUT)/src
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(OUTPUT)/pinscope: $(OBJS)
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) $^ $(LIBS) -o $@

$(OUTPUT)/tools/%: tools/%.c $(wildcard tools/*.h) | $(OUTPUT)/tools
	$(call msg,TOOL,$@)
	$(Q)$(CC) -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(filter-out -fsanitize%,$(ALL_LDFLAGS)) \
		$< -o $@ -lpthread

$(OUTPUT)/tests/unit: $(UNIT_SRCS) $(wildcard tests/unit/*.h) $(LIB_OBJS) | $(OUTPUT)/tests
	$(call msg,UNIT,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -Itests/unit $(UNIT_SRCS) $(LIB_OBJS) $(LIBS) -o $@

-include $(OBJS:.o=.d)

# ---- variants -------------------------------------------------------------------------------
.PHONY: static asan
static:
	$(Q)$(MAKE) --no-print-directory OUTPUT=$(OUTPUT)/static BPF_OUT=$(BPF_OUT) STATIC=1 all
asan:
	$(Q)$(MAKE) --no-print-directory OUTPUT=$(OUTPUT)/asan BPF_OUT=$(BPF_OUT) SAN=1 all $(OUTPUT)/asan/tests/unit

# ---- the two README commands ------------------------------------------------------------------
.PHONY: deps run test
DEB_PKGS := clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev libzstd-dev liblzma-dev make gcc \
	pkg-config bats tmux busybox-static qemu-system-x86 cpio xz-utils
deps:
	$(Q)tools/deps.sh $(DEB_PKGS)

run: deps all
	$(Q)$(OUTPUT)/pinscope top $(ARGS)

test: deps
	$(Q)tests/run.sh

# What tracing costs a workload (tools/bench/run.sh; not part of `make test`): ~40 min at 10 rounds, root.
.PHONY: bench
bench: all
	$(Q)tools/deps.sh bpftrace jq linux-perf
	$(Q)tools/bench/run.sh

# ---- maintenance -----------------------------------------------------------------------------
.PHONY: vmlinux format check-format install clean help
vmlinux:
	$(call msg,GEN,$(VMLINUX_DIR)/vmlinux.h)
	$(Q)tools/gen-vmlinux.sh $(VMLINUX_DIR)

FMT_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null | grep -v '^vmlinux/')
format:
	$(Q)clang-format -i $(FMT_FILES)
check-format:
	$(Q)clang-format --dry-run --Werror $(FMT_FILES)

install: $(OUTPUT)/pinscope
	$(Q)install -D -m 0755 $(OUTPUT)/pinscope $(DESTDIR)$(PREFIX)/sbin/pinscope

clean:
	$(Q)rm -rf .output $(OUTPUT)

help:
	@echo 'make [all]       build .output/pinscope and the workload tools'
	@echo 'make run         install missing packages, build, start the live view (ARGS=...)'
	@echo 'make test        install missing packages, run every test; last line N passed, N failed, N skipped'
	@echo 'make deps        apt-get install what is missing (says what)'
	@echo 'make static      static build in .output/static (guest tier)'
	@echo 'make asan        ASan+UBSan build in .output/asan (what the tests run)'
	@echo 'make vmlinux     regenerate vmlinux/$(ARCH)/vmlinux.h from /sys/kernel/btf/vmlinux'
	@echo 'make format | check-format | install PREFIX=.. DESTDIR=.. | clean'
	@echo 'options: OUTPUT=dir (out-of-tree build), V=1 (show commands)'

-include tools/vm/vm.mk

.DELETE_ON_ERROR:
.SECONDARY:
