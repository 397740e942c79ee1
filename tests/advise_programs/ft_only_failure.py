"""Fails only without the GIL (stands for a program that breaks on the free-threaded build)."""

import sys

if hasattr(sys, "_is_gil_enabled") and not sys._is_gil_enabled():
    sys.exit("this program needs the GIL")
print("ok")
