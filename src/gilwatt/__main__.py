import sys

from gilwatt.cli import main

sys.exit(main())
