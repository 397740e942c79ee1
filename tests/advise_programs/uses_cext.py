"""Threads doing pure-Python work after importing two C extensions built without Py_mod_gil:
cext_a directly, cext_b through the package ``pkg``. Usage: uses_cext.py N [LOOPS]."""

import sys
import threading

import cext_a
import pkg

n = int(sys.argv[1])
loops = int(sys.argv[2]) if len(sys.argv) > 2 else 3_000_000
out = [0] * n


def work(i: int) -> None:
    s = 0
    for k in range(loops // n):
        s += k % 7
    out[i] = s


threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(cext_a.f() + pkg.cext_b.f(), sum(out) > 0)
