build-dev/obj/template.o: src/template.c include/template.h \
 include/config.h include/plan.h include/shellquote.h include/util.h
