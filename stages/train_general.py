"""DVC stage `train_general`: the general model on cached (image, general description) embeddings."""

from perceptops.config import load_params
from perceptops.model.train import train_general
from perceptops.paths import Layout
from perceptops.stage import run_stage

if __name__ == "__main__":
    run_stage(lambda: print(train_general(load_params(), Layout())))
