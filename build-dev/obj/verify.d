build-dev/obj/verify.o: src/verify.c include/verify.h include/health.h \
 include/plan.h include/config.h include/db.h include/util.h
