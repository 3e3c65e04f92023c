build-dev/obj/pause.o: src/pause.c include/pause.h include/fileio.h \
 include/textesc.h include/util.h
