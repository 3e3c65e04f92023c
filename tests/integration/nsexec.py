#!/usr/bin/python3
"""nsexec: bind-mount files over others, then exec a command — meant to run right after `unshare -m
--propagation private`, so that only that command (the daemon under test) sees the replacements.

    nsexec.py SRC:DST [SRC:DST ...] -- COMMAND [ARGS...]
"""
import os
import subprocess
import sys


def main(argv):
    if "--" not in argv:
        sys.exit("usage: nsexec.py SRC:DST [SRC:DST ...] -- COMMAND [ARGS...]")
    split = argv.index("--")
    for pair in argv[:split]:
        src, dst = pair.split(":", 1)
        subprocess.run(["mount", "--bind", src, dst], check=True)
    cmd = argv[split + 1:]
    os.execvp(cmd[0], cmd)


if __name__ == "__main__":
    main(sys.argv[1:])
