build-dev/obj/drill.o: src/drill.c include/drill.h include/config.h \
 include/failover.h include/event.h include/health.h include/plan.h \
 include/state.h include/fileio.h include/nginx.h include/spawn.h \
 include/util.h
