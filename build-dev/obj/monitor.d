build-dev/obj/monitor.o: src/monitor.c include/monitor.h include/util.h
