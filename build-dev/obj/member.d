build-dev/obj/member.o: src/member.c include/member.h include/cluster.h \
 include/etcdmsg.h include/config.h include/event.h include/health.h \
 include/status.h include/state.h include/etcd.h include/fileio.h \
 include/json.h include/jsonread.h include/log.h include/pause.h \
 include/util.h
