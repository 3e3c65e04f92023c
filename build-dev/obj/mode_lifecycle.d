build-dev/obj/mode_lifecycle.o: src/mode_lifecycle.c \
 include/manager_core.h include/manager.h include/config.h \
 include/exitcode.h include/check.h include/control.h include/pause.h \
 include/dbprobe.h include/db.h include/monitor.h include/drill.h \
 include/event.h include/failover.h include/health.h include/plan.h \
 include/state.h include/gates.h include/log.h include/notify.h \
 include/observe.h include/status.h include/spawn.h include/sshmux.h \
 include/rejoin.h include/op.h include/switchover.h include/roles.h \
 include/util.h
