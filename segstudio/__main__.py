import sys

from segstudio.cli import main

sys.exit(main())
