build-dev/obj/observe.o: src/observe.c include/observe.h include/config.h \
 include/event.h include/health.h include/status.h include/state.h \
 include/alert.h include/alertmanager.h include/util.h include/hooks.h \
 include/httpd.h include/log.h include/metrics.h include/resolve.h \
 include/webhook.h
