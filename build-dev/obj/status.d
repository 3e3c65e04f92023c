build-dev/obj/status.o: src/status.c include/status.h include/state.h \
 include/fileio.h include/json.h include/textesc.h include/util.h
