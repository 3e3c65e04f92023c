build-dev/obj/db.o: src/db.c include/db.h \
 /usr/include/postgresql/libpq-fe.h \
 /usr/include/postgresql/postgres_ext.h \
 /usr/include/postgresql/pg_config_ext.h include/resolve.h include/util.h
