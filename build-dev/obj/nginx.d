build-dev/obj/nginx.o: src/nginx.c include/nginx.h
