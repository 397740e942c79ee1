"""gilwatt: measure what removing the GIL does to a program.

This module stays tiny and stdlib-only: the markers client (``gilwatt.markers``) is
imported by profiled programs on every CPython 3.9+, and importing it imports this.
"""

__version__ = "0.1.0"
