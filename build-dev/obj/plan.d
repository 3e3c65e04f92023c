build-dev/obj/plan.o: src/plan.c include/plan.h include/config.h \
 include/fileio.h include/health.h include/shellquote.h include/spawn.h \
 include/util.h
