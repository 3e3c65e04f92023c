# blfailoverd — build / test / install.
# Everything but main.c goes into one static library that the daemon and the unit tests both link.

PREFIX      ?= /usr/local
SBINDIR     ?= $(PREFIX)/sbin
SYSCONFDIR  ?= /etc
MANDIR      ?= $(PREFIX)/share/man
DESTDIR     ?=

CC          ?= cc
PKGS        := libcurl libpq yaml-0.1 libsystemd
CFLAGS      ?= -O2 -g
BLF_CFLAGS  := -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
               -Wno-unused-parameter -D_GNU_SOURCE -Iinclude $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS      := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

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
all: $(BUILD)/blfailoverd

$(BUILD)/obj/%.o: src/%.c $(wildcard include/*.h) | $(BUILD)/obj
	@echo "  CC $@"; $(CC) $(BLF_CFLAGS) $(CFLAGS) -MMD -c -o $@ $<

$(BUILD)/obj $(BUILD)/tests:
	mkdir -p $@

$(BUILD)/libblf.a: $(LIB_OBJS)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/blfailoverd: $(BUILD)/obj/main.o $(BUILD)/libblf.a
	@echo "  CC $@"; $(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libblf.a | $(BUILD)/tests
	@echo "  CC $@"; $(CC) $(BLF_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libblf.a $(LDLIBS) -lcmocka

.PHONY: unit-bins
unit-bins: $(BUILD)/blfailoverd $(UNIT_BINS)

-include $(wildcard $(BUILD)/obj/*.d)

# ---------------------------------------------------------------- deps
# Every Debian package the build, the tests and the demo need. `check` and `demo` install what is missing.
DEB_PKGS := gcc make pkg-config libcurl4-openssl-dev libpq-dev libyaml-dev libsystemd-dev libcmocka-dev \
            postgresql-15 postgresql-client-15 nginx-light openssh-server openssh-client python3 valgrind \
            diffutils procps util-linux systemd man-db mandoc

.PHONY: deps
deps:
	@missing=$$(for p in $(DEB_PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "make deps: installing $$missing"; \
		sudo=; [ "$$(id -u)" = 0 ] || sudo=sudo; \
		$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing; \
	fi

# ---------------------------------------------------------------- test
.PHONY: check unit integration
check: deps
	$(MAKE) BUILD=build unit-bins
	$(MAKE) BUILD=build-asan SAN=1 unit-bins
	tests/run-check build build-asan

unit: deps
	$(MAKE) BUILD=build unit-bins
	tests/run-check --unit-only build

integration: deps all
	tests/run-check --integration-only build

# ---------------------------------------------------------------- demo
.PHONY: demo
demo: deps all
	/usr/bin/python3 tests/integration/demo.py --bin $(BUILD)/blfailoverd

# ---------------------------------------------------------------- install
# `make install PREFIX=/usr DESTDIR=/tmp/pkg`: the binary, the systemd unit (its paths follow SBINDIR and
# SYSCONFDIR), the man pages and the sample config, which never overwrites an existing one. `make uninstall` removes
# what install put there except the config (and the state, which install never creates).
UNITDIR     ?= $(or $(shell pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null),/lib/systemd/system)
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
	rm -rf build build-asan
