"""DVC stage `validate@<city>` (see dvc.yaml): thin wrapper over perceptops.data.validate."""

import sys

from perceptops.data.validate import main
from perceptops.stage import run_stage

if __name__ == "__main__":
    run_stage(main, sys.argv[1])
