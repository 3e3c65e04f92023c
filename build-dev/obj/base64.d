build-dev/obj/base64.o: src/base64.c include/base64.h
