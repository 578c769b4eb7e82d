"""DVC stage `survey@<city>` (see dvc.yaml): thin wrapper over perceptops.data.survey."""

import sys

from perceptops.data.survey import main
from perceptops.stage import run_stage

if __name__ == "__main__":
    run_stage(main, sys.argv[1])
