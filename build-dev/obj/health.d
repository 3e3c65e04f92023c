build-dev/obj/health.o: src/health.c include/health.h include/util.h
