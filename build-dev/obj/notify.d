build-dev/obj/notify.o: src/notify.c include/notify.h include/log.h \
 include/util.h
