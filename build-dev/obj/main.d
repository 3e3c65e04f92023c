build-dev/obj/main.o: src/main.c include/check.h include/config.h \
 include/control.h include/pause.h include/failover.h include/event.h \
 include/health.h include/plan.h include/state.h include/fileio.h \
 include/lock.h include/log.h include/manager.h include/exitcode.h \
 include/roles.h include/status.h include/rejoin.h include/op.h \
 include/db.h include/spawn.h include/switchover.h include/util.h
