build-dev/obj/event.o: src/event.c include/event.h include/log.h \
 include/util.h
