build-dev/obj/roles.o: src/roles.c include/roles.h include/config.h \
 include/state.h
