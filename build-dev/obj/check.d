build-dev/obj/check.o: src/check.c include/check.h include/config.h \
 include/control.h include/pause.h include/db.h include/failover.h \
 include/event.h include/health.h include/plan.h include/state.h \
 include/fileio.h include/log.h include/nginx.h include/util.h
