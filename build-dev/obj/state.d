build-dev/obj/state.o: src/state.c include/state.h include/fileio.h \
 include/textesc.h include/util.h
