# blfailoverd — build / test / install.
# Everything but main.c goes into one static library that the daemon and the unit tests both link.

PREFIX      ?= /usr/local
SBINDIR     ?= $(PREFIX)/sbin
SYSCONFDIR  ?= /etc
MANDIR      ?= $(PREFIX)/share/man
DESTDIR     ?=

CC          ?= cc
PKG_CONFIG  ?= pkg-config
PYTHON      ?= /usr/bin/python3
PKGS        := libcurl libpq yaml-0.1 libsystemd libmicrohttpd
CFLAGS      ?= -O2 -g

# The libraries' flags are asked of pkg-config when a compile or link first needs them, once per make run, never
# while make reads this file: on a fresh machine `make demo` (and every target that installs what it needs) runs
# `deps` first, which installs pkg-config and the -dev packages, and only then builds (in a new make, see below).
# A library pkg-config cannot find stops the build with what to do, instead of compiling without its flags.
# (tests/build/fresh-machine checks both: no flag is computed before `deps` ran.)
pkg_flags    = $(eval $(1) := $(shell $(PKG_CONFIG) $(2) $(PKGS)))$(if $(filter 0,$(.SHELLSTATUS)),,$(error \
               $(PKG_CONFIG) $(2) $(PKGS) failed: install the build dependencies first with `make deps` (as root), \
               or run `make demo` / `make check`, which do))
PKG_CFLAGS   = $(call pkg_flags,PKG_CFLAGS,--cflags)$(PKG_CFLAGS)
LDLIBS       = $(call pkg_flags,LDLIBS,--libs)$(LDLIBS)
BLF_CFLAGS  := -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
               -Wno-unused-parameter -D_GNU_SOURCE -Iinclude

# The sanitizer build lives in its own tree; `make check` builds and runs both.
SAN_FLAGS   := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
BUILD       ?= build
ifeq ($(SAN),1)
BLF_CFLAGS  += $(SAN_FLAGS) -O1
LDFLAGS     += $(SAN_FLAGS)
endif

VERSION     := 0.1.0
BLF_CFLAGS  += -DBLF_VERSION='"$(VERSION)"'

LIB_SRCS    := $(filter-out src/main.c,$(wildcard src/*.c))
LIB_OBJS    := $(LIB_SRCS:src/%.c=$(BUILD)/obj/%.o)
UNIT_SRCS   := $(wildcard tests/unit/test_*.c)
UNIT_BINS   := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

# ---------------------------------------------------------------- build
.PHONY: all
all: $(BUILD)/blfailoverd $(BUILD)/pgwriter $(BUILD)/etcdprobe

$(BUILD)/obj/%.o: src/%.c $(wildcard include/*.h) | $(BUILD)/obj
	@echo "  CC $@"; $(CC) $(BLF_CFLAGS) $(PKG_CFLAGS) $(CFLAGS) -MMD -c -o $@ $<

$(BUILD)/obj $(BUILD)/tests:
	mkdir -p $@

$(BUILD)/libblf.a: $(LIB_OBJS)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/blfailoverd: $(BUILD)/obj/main.o $(BUILD)/libblf.a
	@echo "  CC $@"; $(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The lifecycle tests' and the bench's writer client (tests/integration/pgwriter.c): libpq only, not in the library.
$(BUILD)/pgwriter: tests/integration/pgwriter.c | $(BUILD)/obj
	@echo "  CC $@"; $(CC) $(BLF_CFLAGS) $(PKG_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LDLIBS)

# The etcd tests' stand-in member (tests/integration/etcdprobe.c): cluster.c + etcd.c on the loop, not the daemon.
$(BUILD)/etcdprobe: tests/integration/etcdprobe.c $(BUILD)/libblf.a | $(BUILD)/obj
	@echo "  CC $@"; $(CC) $(BLF_CFLAGS) $(PKG_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libblf.a $(LDLIBS)

# Seams cut by the linker for one test driver: UNIT_WRAP_<driver> lists the functions it wraps (__wrap_f/__real_f).
UNIT_WRAP_test_fileio := fsync rename

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libblf.a | $(BUILD)/tests
	@echo "  CC $@"; $(CC) $(BLF_CFLAGS) $(PKG_CFLAGS) $(CFLAGS) $(LDFLAGS) $(UNIT_WRAP_$*:%=-Wl,--wrap=%) -o $@ $< \
		$(BUILD)/libblf.a $(LDLIBS) -lcmocka

.PHONY: unit-bins
unit-bins: $(BUILD)/blfailoverd $(BUILD)/pgwriter $(BUILD)/etcdprobe $(UNIT_BINS)

-include $(wildcard $(BUILD)/obj/*.d)

# ---------------------------------------------------------------- deps
# Every Debian 12 package the build, the tests and the demo need, and nothing else: installed without recommends
# (those pulled ~150 more packages, an MTA among them). Each is here for something that runs:
#   build          gcc libc6-dev pkg-config and the -dev packages of the libraries in PKGS; libcmocka-dev (unit tests)
#   fuzz           clang libclang-rt-14-dev (libFuzzer)
#   the daemon     openssh-client (ssh to the standby DB host), ca-certificates (https checks verify against the
#                  system store by default; libcurl only recommends it)
#   integration    postgresql-15 postgresql-client-15 (initdb, pg_ctl, pg_basebackup, psql), nginx-light,
#                  libnginx-mod-http-lua (a site file with Lua blocks, run by nginx),
#                  openssh-server (sshd), python3 (the harness), openssl (test certificates), util-linux (runuser,
#                  unshare), valgrind, prometheus (promtool), prometheus-alertmanager (a real Alertmanager)
#   the service    systemd (systemd-analyze, a private journald), man-db and mandoc (man page lint), diffutils
# `make` itself comes first (apt-get install make); every target a user types first installs what is missing.
DEB_PKGS := gcc libc6-dev make pkg-config libcurl4-openssl-dev libpq-dev libyaml-dev libsystemd-dev libcmocka-dev \
            libmicrohttpd-dev clang libclang-rt-14-dev openssh-client ca-certificates postgresql-15 postgresql-client-15 \
            nginx-light libnginx-mod-http-lua openssh-server python3 openssl util-linux valgrind prometheus \
            prometheus-alertmanager etcd-server systemd man-db mandoc diffutils

# apt_install PACKAGES: installs those of PACKAGES not installed yet (as root, or through sudo), no recommends.
define apt_install
@missing=$$(for p in $(1); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "make: installing" $$missing; \
		sudo=; [ "$$(id -u)" = 0 ] || sudo=sudo; \
		$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq \
			--no-install-recommends $$missing; \
	fi
endef

.PHONY: deps
deps:
	$(call apt_install,$(DEB_PKGS))

# The targets a user types first (check, unit, integration, demo, soak, bench, fuzz) run `deps`, then build in a
# new make ($(MAKE) ...), which reads this file again with pkg-config and the libraries in place. Never make them
# depend on `all` or a built file directly: that build would be planned before `deps` ran.

# ---------------------------------------------------------------- test
.PHONY: check unit integration
check: deps
	$(MAKE) BUILD=build unit-bins
	$(MAKE) BUILD=build-asan SAN=1 unit-bins
	tests/run-check build build-asan

unit: deps
	$(MAKE) BUILD=build unit-bins
	tests/run-check --unit-only build

integration: deps
	$(MAKE) BUILD=build all
	tests/run-check --integration-only build

# ---------------------------------------------------------------- fuzz
# libFuzzer targets (tests/fuzz/fuzz_*.c), one per parser, built with clang against the library sources in their
# own tree. `make fuzz` runs each for FUZZ_SECONDS and fails on a crash (the input lands in FUZZ_BUILD/crashes/);
# `make fuzz-smoke` runs each for a few seconds, as `make check` does.
FUZZ_CC      ?= clang
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_FLAGS   := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -O1 -g
FUZZ_SRCS    := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_OBJS    := $(LIB_SRCS:src/%.c=$(FUZZ_BUILD)/obj/%.o)
FUZZ_BINS    := $(FUZZ_SRCS:tests/fuzz/%.c=$(FUZZ_BUILD)/%)

$(FUZZ_BUILD)/obj/%.o: src/%.c $(wildcard include/*.h) | $(FUZZ_BUILD)/obj
	@echo "  CC $@"; $(FUZZ_CC) $(BLF_CFLAGS) $(PKG_CFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_BUILD)/obj:
	mkdir -p $@

$(FUZZ_BUILD)/libblf.a: $(FUZZ_OBJS)
	rm -f $@ && ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_BUILD)/libblf.a
	@echo "  CC $@"; $(FUZZ_CC) $(BLF_CFLAGS) $(PKG_CFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_BUILD)/libblf.a $(LDLIBS)

.PHONY: fuzz fuzz-bins fuzz-smoke
fuzz-bins: $(FUZZ_BINS)

fuzz: deps
	tests/fuzz/run-fuzz --seconds $(FUZZ_SECONDS)

fuzz-smoke: deps
	tests/fuzz/run-fuzz --seconds 5

# ---------------------------------------------------------------- demo
# The runtime check of issue #7 at full length: 10 minutes of healthy polling at 100 ms, RSS and descriptors flat
# (make check runs the same scenario for 60 s).
SOAK_SECONDS ?= 600
.PHONY: soak
soak: deps
	$(MAKE) all
	BLF_SOAK_SECONDS=$(SOAK_SECONDS) $(PYTHON) tests/integration/run.py --bin $(BUILD)/blfailoverd -k test_soak

.PHONY: demo
demo: deps
	$(MAKE) all
	$(PYTHON) tests/integration/demo.py --bin $(BUILD)/blfailoverd

# Three monitors on a 3-member etcd (issue 13): the leading monitor killed, then the active; narrated.
.PHONY: demo-cluster
demo-cluster: deps
	$(MAKE) all
	$(PYTHON) tests/integration/demo_cluster.py --bin $(BUILD)/blfailoverd

# ---------------------------------------------------------------- bench
# The failover timeline and the running cost on the integration topology, next to the operators' bash loop and
# repmgrd, and the planned switchover next to Patroni's (patroni + etcd-server, started by the bench on 127.0.0.1;
# their Debian services are never enabled or started); table on stdout and in bench/results/latest.md. Its packages
# are not needed by check or demo. BENCH_ARGS: e.g. "--runs 2 --quick" while developing, "--only api,db,cost,switchover".
BENCH_DEB_PKGS := postgresql-15-repmgr curl patroni etcd-server
BENCH_ARGS  ?=

.PHONY: bench bench-deps
bench-deps: deps
	$(call apt_install,$(BENCH_DEB_PKGS))

bench: bench-deps
	$(MAKE) all
	$(PYTHON) bench/run.py --bin $(BUILD)/blfailoverd $(BENCH_ARGS)

# ---------------------------------------------------------------- install
# `make install PREFIX=/usr DESTDIR=/tmp/pkg`: the binary, the systemd unit (its paths follow SBINDIR and
# SYSCONFDIR), the man pages and the sample config, which never overwrites an existing one. `make uninstall` removes
# what install put there except the config (and the state, which install never creates).
UNITDIR     ?= $(or $(shell $(PKG_CONFIG) --variable=systemdsystemunitdir systemd 2>/dev/null),/lib/systemd/system)
CONFDIR     := $(SYSCONFDIR)/blfailoverd

.PHONY: install uninstall
install: $(BUILD)/blfailoverd
	install -D -m 0755 $(BUILD)/blfailoverd $(DESTDIR)$(SBINDIR)/blfailoverd
	@# The unit in systemd/ is written for PREFIX=/usr, SYSCONFDIR=/etc: the installed copy names the real paths.
	sed -e 's|/usr/sbin/blfailoverd|$(SBINDIR)/blfailoverd|g' -e 's|/etc/blfailoverd/|$(CONFDIR)/|g' \
		systemd/blfailoverd.service > $(BUILD)/blfailoverd.service
	install -D -m 0644 $(BUILD)/blfailoverd.service $(DESTDIR)$(UNITDIR)/blfailoverd.service
	install -D -m 0644 man/blfailoverd.8 $(DESTDIR)$(MANDIR)/man8/blfailoverd.8
	install -D -m 0644 man/blfailoverd.yml.5 $(DESTDIR)$(MANDIR)/man5/blfailoverd.yml.5
	install -d -m 0755 $(DESTDIR)$(CONFDIR)
	@if [ -e $(DESTDIR)$(CONFDIR)/blfailoverd.yml ]; then \
		echo "  kept $(DESTDIR)$(CONFDIR)/blfailoverd.yml (exists); the new sample is conf/blfailoverd.yml"; \
	else \
		echo "install -m 0640 conf/blfailoverd.yml $(DESTDIR)$(CONFDIR)/blfailoverd.yml"; \
		install -m 0640 conf/blfailoverd.yml $(DESTDIR)$(CONFDIR)/blfailoverd.yml; \
	fi

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/blfailoverd $(DESTDIR)$(UNITDIR)/blfailoverd.service \
		$(DESTDIR)$(MANDIR)/man8/blfailoverd.8 $(DESTDIR)$(MANDIR)/man5/blfailoverd.yml.5
	@echo "  kept $(DESTDIR)$(CONFDIR) (the config) and the state directory"

.PHONY: clean
clean:
	rm -rf build build-asan $(FUZZ_BUILD)
