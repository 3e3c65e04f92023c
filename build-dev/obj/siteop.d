build-dev/obj/siteop.o: src/siteop.c include/siteop.h include/config.h \
 include/op.h include/db.h include/event.h include/health.h \
 include/spawn.h include/state.h include/pgtext.h include/template.h \
 include/diff.h include/fileio.h include/log.h include/nginx.h \
 include/util.h
