build-dev/obj/config.o: src/config.c include/config.h include/template.h \
 include/util.h
