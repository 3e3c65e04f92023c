build-dev/obj/cluster.o: src/cluster.c include/cluster.h \
 include/etcdmsg.h
