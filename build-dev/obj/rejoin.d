build-dev/obj/rejoin.o: src/rejoin.c include/rejoin.h include/config.h \
 include/event.h include/health.h include/op.h include/db.h \
 include/spawn.h include/state.h include/exitcode.h include/log.h \
 include/pgtext.h include/roles.h include/siteop.h include/template.h \
 include/util.h
