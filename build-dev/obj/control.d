build-dev/obj/control.o: src/control.c include/control.h include/pause.h \
 include/exitcode.h include/util.h
