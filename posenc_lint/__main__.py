import sys

from posenc_lint.cli import main

sys.exit(main())
