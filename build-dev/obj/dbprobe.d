build-dev/obj/dbprobe.o: src/dbprobe.c include/dbprobe.h include/db.h \
 include/monitor.h include/util.h
