build-dev/obj/alert.o: src/alert.c include/alert.h include/event.h \
 include/json.h include/util.h
