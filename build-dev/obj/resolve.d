build-dev/obj/resolve.o: src/resolve.c include/resolve.h include/util.h
