build-dev/obj/switchover.o: src/switchover.c include/switchover.h \
 include/config.h include/event.h include/health.h include/op.h \
 include/db.h include/spawn.h include/state.h include/exitcode.h \
 include/fileio.h include/log.h include/nginx.h include/pgtext.h \
 include/siteop.h include/template.h include/util.h
