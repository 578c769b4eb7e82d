"""DVC stage `evaluate`: general model vs each group's fine-tune against the group's own Q-scores."""

from perceptops.config import load_params
from perceptops.model.evaluate import evaluate
from perceptops.paths import Layout
from perceptops.stage import run_stage


def main() -> None:
    layout = Layout()
    evaluate(load_params(), layout)
    print((layout.evaluation_dir() / "table.md").read_text())


if __name__ == "__main__":
    run_stage(main)
