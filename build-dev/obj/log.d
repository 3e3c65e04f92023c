build-dev/obj/log.o: src/log.c include/log.h
