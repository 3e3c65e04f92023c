build-dev/obj/fileio.o: src/fileio.c include/fileio.h include/util.h
