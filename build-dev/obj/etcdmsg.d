build-dev/obj/etcdmsg.o: src/etcdmsg.c include/etcdmsg.h include/base64.h \
 include/json.h include/jsonread.h
