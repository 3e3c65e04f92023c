build-dev/obj/diff.o: src/diff.c include/diff.h
