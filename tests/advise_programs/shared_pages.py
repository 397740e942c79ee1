"""Fork-shared memory: the parent fills 96 MiB, then forks N workers that read it (shared, not
copied) and each write 16 MiB of their own; all hold for HOLD seconds together, so the sampler
reads the tree's PSS while every worker is alive. Summed PSS grows ~16 MiB (plus the worker's
own interpreter pages) per worker; a sum of RSS would count the 96 MiB once per process.
Usage: shared_pages.py N [HOLD_S]. Prints a checksum that does not depend on N."""

import os
import sys
import time

MIB = 1 << 20
n = int(sys.argv[1])
hold_s = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
shared = bytearray(os.urandom(MIB)) * 96  # touched: resident in the parent before the forks

ready_r, ready_w = os.pipe()
go_r, go_w = os.pipe()
children = []
for _ in range(n):
    pid = os.fork()
    if pid == 0:
        os.close(ready_r)
        os.close(go_w)
        total = sum(shared[i] for i in range(0, len(shared), 4096))  # reads every shared page
        own = bytearray(16 * MIB)
        for i in range(0, len(own), 4096):  # writes every page of its own
            own[i] = 1
        os.write(ready_w, b"x")
        os.read(go_r, 1)  # until the parent closes its end
        os._exit(0 if total >= 0 else 1)
    children.append(pid)
os.close(ready_w)
os.close(go_r)
for _ in range(n):
    os.read(ready_r, 1)
time.sleep(hold_s)  # every worker alive: at least three reads of the 250 ms memory tier
os.close(go_w)
for pid in children:
    os.waitpid(pid, 0)
print(len(shared) // MIB)
