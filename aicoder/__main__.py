import sys

from aicoder.cli import main

sys.exit(main())
