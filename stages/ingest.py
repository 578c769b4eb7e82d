"""DVC stage `ingest@<city>` (see dvc.yaml): thin wrapper over perceptops.data.ingest."""

import sys

from perceptops.data.ingest import main
from perceptops.stage import run_stage

if __name__ == "__main__":
    run_stage(main, sys.argv[1])
