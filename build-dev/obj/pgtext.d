build-dev/obj/pgtext.o: src/pgtext.c include/pgtext.h
