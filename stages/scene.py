"""DVC stage scene@<city>: parse every valid image -> data/<city>/scene/scene.parquet."""

import sys

from perceptops.scene.parse import run_scene_stage
from perceptops.stage import run_stage

if __name__ == "__main__":
    run_stage(run_scene_stage, sys.argv[1])
