"""DVC stage score_city@<city>: champions' scores, maps, GeoJSON, summary and page in maps/<city>/."""

import sys

from perceptops.maps.build import run
from perceptops.stage import run_stage

if __name__ == "__main__":
    run_stage(run, sys.argv[1])
