"""Its output depends on the worker count (stands for a result that changes with N)."""

import sys

n = int(sys.argv[1])
print(sum(range(1000)) + (n > 1))
