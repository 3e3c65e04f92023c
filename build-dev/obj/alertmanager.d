build-dev/obj/alertmanager.o: src/alertmanager.c include/alertmanager.h \
 include/alert.h include/event.h include/health.h include/util.h \
 include/log.h include/webhook.h
