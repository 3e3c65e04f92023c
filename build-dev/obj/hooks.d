build-dev/obj/hooks.o: src/hooks.c include/hooks.h include/event.h \
 include/log.h include/spawn.h include/util.h
