build-dev/obj/lock.o: src/lock.c include/lock.h include/fileio.h \
 include/util.h
