build-dev/obj/sshmux.o: src/sshmux.c include/sshmux.h include/config.h \
 include/log.h include/plan.h include/spawn.h include/util.h
