build-dev/obj/gates.o: src/gates.c include/gates.h include/config.h \
 include/health.h include/monitor.h include/pause.h include/exitcode.h \
 include/util.h
