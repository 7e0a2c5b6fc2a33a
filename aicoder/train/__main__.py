import sys

from aicoder.train.cli import main

sys.exit(main())
