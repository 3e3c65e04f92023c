build-dev/obj/textesc.o: src/textesc.c include/textesc.h
