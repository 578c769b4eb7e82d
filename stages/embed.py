"""DVC stage embed@<city>: images + descriptions through the frozen encoders -> data/<city>/embed/."""

import sys

from perceptops.encode.embed import run_embed_stage
from perceptops.stage import run_stage

if __name__ == "__main__":
    run_stage(run_embed_stage, sys.argv[1])
