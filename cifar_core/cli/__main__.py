import sys

from cifar_core.cli import main

sys.exit(main())
