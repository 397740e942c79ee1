"""Far slower on the free-threaded build (stands for a lock convoy): 0.4 s more there."""

import sys
import time

time.sleep(0.05 if sys.version_info < (3, 13) or sys._is_gil_enabled() else 0.45)
print("ok")
