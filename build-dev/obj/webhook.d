build-dev/obj/webhook.o: src/webhook.c include/webhook.h include/health.h \
 include/util.h include/log.h
