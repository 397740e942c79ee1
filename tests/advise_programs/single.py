"""Single-threaded pure-Python work (no worker count). Usage: single.py [LOOPS]."""

import sys

loops = int(sys.argv[1]) if len(sys.argv) > 1 else 2_000_000
total = 0
for k in range(loops):
    total += k % 7
print(total)
