build-dev/obj/util.o: src/util.c include/util.h
