import sys

from audiocore.cli import main

sys.exit(main())
