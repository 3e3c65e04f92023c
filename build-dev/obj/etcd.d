build-dev/obj/etcd.o: src/etcd.c include/etcd.h include/etcdmsg.h \
 include/health.h include/util.h
