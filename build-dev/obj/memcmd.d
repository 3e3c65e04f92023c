build-dev/obj/memcmd.o: src/memcmd.c include/memcmd.h include/control.h \
 include/pause.h include/etcd.h include/etcdmsg.h include/health.h \
 include/util.h include/cluster.h include/exitcode.h include/log.h
