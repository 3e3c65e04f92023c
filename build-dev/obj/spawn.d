build-dev/obj/spawn.o: src/spawn.c include/spawn.h include/shellquote.h \
 include/util.h
