"""DVC stage `register`: every trained model -> an MLflow run + registered version with lineage."""

from perceptops.registry.register import register_all
from perceptops.stage import run_stage

if __name__ == "__main__":
    run_stage(register_all)
