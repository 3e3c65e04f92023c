build-dev/obj/httpd.o: src/httpd.c include/httpd.h include/util.h
