"""DVC stage drift@<city>: Evidently report + summary in monitoring/reports/<city>/, metric metrics/drift/<city>.json."""

import sys

from perceptops.monitor.run import run
from perceptops.stage import run_stage

if __name__ == "__main__":
    run_stage(run, sys.argv[1])
