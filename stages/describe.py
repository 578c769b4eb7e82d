"""DVC stage describe@<city>: descriptions/<city>/*.parquet, failures.csv, metrics/describe/<city>.json."""

import sys

from perceptops.stage import run_stage


def main(city: str) -> None:
    from perceptops.config import load_params
    from perceptops.describe.run import describe_city
    from perceptops.paths import Layout

    describe_city(load_params(), Layout(), city)


if __name__ == "__main__":
    run_stage(main, sys.argv[1])
