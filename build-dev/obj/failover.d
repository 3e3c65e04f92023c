build-dev/obj/failover.o: src/failover.c include/failover.h \
 include/config.h include/event.h include/health.h include/plan.h \
 include/state.h include/db.h include/diff.h include/fileio.h \
 include/log.h include/nginx.h include/spawn.h include/util.h \
 include/verify.h
