"""DVC stage `labels`: general labels from the training city's crowd Q-scores."""

from perceptops.config import load_params
from perceptops.model.labels import make_labels
from perceptops.paths import Layout
from perceptops.stage import run_stage

if __name__ == "__main__":
    run_stage(lambda: print(make_labels(load_params(), Layout())))
