build-dev/obj/jsonread.o: src/jsonread.c include/jsonread.h
