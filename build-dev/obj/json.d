build-dev/obj/json.o: src/json.c include/json.h include/util.h
