build-dev/obj/op.o: src/op.c include/op.h include/db.h include/event.h \
 include/health.h include/spawn.h include/state.h include/exitcode.h \
 include/log.h include/util.h
