"""DVC stage `finetune@<group>-<scenario>`: pseudo-label fine-tune; usage: finetune.py GROUP SCENARIO."""

import sys

from perceptops.config import load_params
from perceptops.model.finetune import finetune
from perceptops.paths import Layout
from perceptops.stage import run_stage

if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python stages/finetune.py GROUP SCENARIO")
    run_stage(lambda g, s: print(finetune(load_params(), Layout(), g, s)), sys.argv[1], sys.argv[2])
