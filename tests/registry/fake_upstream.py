"""Writes small, deterministic stand-ins for every out the register stage reads (run by `dvc repro`).

Real formats (docs/architecture.md), real model folders (perceptops.model.io.save_model), tiny sizes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from perceptops.model.io import save_model
from perceptops.model.net import build_net

IMG, TXT = 8, 6
ACC = {
    "women-traffic": (0.60, 0.70),
    "women-crime": (0.62, 0.66),
}  # general_acc, finetune_acc (others: 0.6, 0.65)


def targets(root: Path) -> list[str]:
    from perceptops.config import load_params

    return load_params(root / "params.yaml").target_names()


def ids(n: int) -> list[str]:
    return [f"{k:064x}" for k in range(1, n + 1)]


def write_model(d: Path, seed: int, pseudo: bool) -> None:
    import torch

    torch.manual_seed(seed)
    net = build_net(IMG, TXT, adapter_dim=4, dropout=0.1, fusion="concat", variant="fusion")
    config = {
        "adapter_dim": 4,
        "dropout": 0.1,
        "fusion": "concat",
        "variant": "fusion",
        "seed": seed,
        "encoders": {
            "image": {"id": "builtin-pixel-v1", "dim": IMG},
            "text": {"id": "builtin-hash-v1", "dim": TXT},
        },
    }
    save_model(d, net, config)
    hist = [
        {"epoch": e, "loss": 1.0 / e, "val_loss": 1.1 / e, "val_acc": 0.5 + 0.05 * e} for e in range(1, 4)
    ]
    (d / "history.json").write_text(json.dumps(hist))
    (d / "metrics.json").write_text(json.dumps({"accuracy": 0.7, "f1": 0.68, "roc_auc": 0.75}))
    from PIL import Image

    Image.new("RGB", (8, 8), (seed % 255, 0, 0)).save(d / "curves.png")
    pd.DataFrame({"image_id": ids(4), "split": ["train", "train", "val", "test"]}).to_parquet(
        d / "split.parquet", index=False
    )
    if pseudo:
        summ = [
            {"round": r, "added": 4, "labelled": 4 * (r + 1), "fraction": 0.1 * (r + 1)} for r in range(3)
        ]
        (d / "pseudo_summary.json").write_text(json.dumps(summ))


def main(root: Path, variant: str) -> None:
    tnames = targets(root)
    n = 12
    ing = root / "data/demo/ingest"
    ing.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(
        {
            "image_id": ids(n),
            "path": [f"images/{i}.png" for i in range(n)],
            "source_id": [str(i) for i in range(n)],
            "width": 32,
            "height": 24,
            "lat": np.nan,
            "lon": np.nan,
            "heading": np.nan,
            "captured_at": None,
            "city": "demo",
            "source": "synthetic",
        }
    ).to_parquet(ing / "manifest.parquet", index=False)
    dd = root / "descriptions/demo"
    dd.mkdir(parents=True, exist_ok=True)
    for t in ["general", *tnames]:
        pd.DataFrame(
            {
                "image_id": ids(n),
                "text": [f"{t} scene {i} {variant}" for i in range(n)],
                "rating": [i % 10 + 1 for i in range(n)],
                "factors": [["lighting", "traffic"]] * n,
                "backend": "scene",
                "model": "builtin-scene",
                "prompt_hash": f"ph-{t}",
                "created": "2026-12-01T00:00:00",
            }
        ).to_parquet(dd / f"{t}.parquet", index=False)
    (root / "data/labels").mkdir(parents=True, exist_ok=True)
    pd.DataFrame(
        {"image_id": ids(n), "q": np.linspace(1, 9, n), "label": [i % 2 for i in range(n)]}
    ).to_parquet(root / "data/labels/general.parquet", index=False)
    (root / "data/demo/survey").mkdir(parents=True, exist_ok=True)
    pd.DataFrame(
        {
            "image_id": ids(n),
            "group": "all",
            "scenario": "general",
            "q": np.linspace(1, 9, n),
            "wins": 1,
            "losses": 1,
            "ties": 0,
            "n": 2,
        }
    ).to_parquet(root / "data/demo/survey/qscores.parquet", index=False)
    write_model(root / "models/general", 1 + (variant == "b"), pseudo=False)
    (root / "pseudo_labels").mkdir(exist_ok=True)
    for k, t in enumerate(tnames):
        write_model(root / f"models/finetune/{t}", 10 + k, pseudo=True)
        pd.DataFrame({"image_id": ids(6), "label": [0, 1] * 3, "confidence": 0.9, "round": 1}).to_parquet(
            root / f"pseudo_labels/{t}.parquet", index=False
        )
    res = {
        t: {
            "group": t.rsplit("-", 1)[0],
            "scenario": t.rsplit("-", 1)[1],
            "n": n,
            "general_acc": ACC.get(t, (0.6, 0.65))[0],
            "finetune_acc": ACC.get(t, (0.6, 0.65))[1],
            "general_f1": 0.5,
            "finetune_f1": 0.6,
        }
        for t in tnames
    }
    (root / "reports/evaluation").mkdir(parents=True, exist_ok=True)
    (root / "reports/evaluation/results.json").write_text(
        json.dumps({"targets": res, "skipped": {}, "threshold": 5.0, "city": "demo"})
    )
    (root / "metrics/validate").mkdir(parents=True, exist_ok=True)
    (root / "metrics/validate/demo.json").write_text(json.dumps({"total": n, "valid": n, "passed": True}))


if __name__ == "__main__":
    main(Path.cwd(), sys.argv[1] if len(sys.argv) > 1 else "a")
