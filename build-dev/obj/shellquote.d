build-dev/obj/shellquote.o: src/shellquote.c include/shellquote.h
