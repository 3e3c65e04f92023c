build-dev/obj/metrics.o: src/metrics.c include/metrics.h include/state.h \
 include/status.h include/json.h include/monitor.h include/util.h
