"""Pseudo-label fine-tuning of the general model for one group x scenario.

1. Pair every image with its group/scenario description embedding.
2. Seed set by Monte-Carlo dropout: T passes of the general model with dropout on; in each pass
   the top_k most confident images per class get a vote; the top_k most voted per class are kept.
3. Self-training rounds: fine-tune (from the general weights) on the labelled set, predict the
   rest of the pool, add the top_k most confident per class; stop at max_labelled_fraction or rounds.

Pseudo-labels live in a dict keyed by image id from the moment they are chosen to the parquet out;
rows are looked up through ``id -> row`` maps, so a label cannot drift to another image (the reference
code wrote labels by loop position). The pool is put in image-id order first, so the result does not
depend on the order the embeddings come in.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from perceptops.errors import DataError

if TYPE_CHECKING:
    from perceptops.config import FinetuneParams, Params
    from perceptops.model.data import Pairs
    from perceptops.paths import Layout


@dataclass
class PseudoLabel:
    label: int
    confidence: float
    round: int


@dataclass
class FinetuneResult:
    net: Any
    labels: dict[str, PseudoLabel]  # image id -> pseudo-label
    summary: list[dict] = field(default_factory=list)  # per round: added, labelled, fraction
    history: list[dict] = field(default_factory=list)  # last round's per-epoch history
    val: dict = field(default_factory=dict)
    split: dict[str, str] = field(default_factory=dict)  # last round: image id -> train / val


def _top_per_class(ids: list[str], p_safe: np.ndarray, k: int) -> dict[int, list[str]]:
    """The k ids most confident for each class (P(safe) for 1, 1 - P(safe) for 0); ties by image id."""
    order_ids = np.asarray(ids, dtype=object)
    out = {}
    for cls, conf in ((1, p_safe), (0, 1.0 - p_safe)):
        # lexsort: last key is primary -> sort by -confidence, then id for a stable tie-break
        order = np.lexsort((order_ids, -conf))
        out[cls] = [str(order_ids[i]) for i in order[:k]]
    return out


def mc_dropout_seed(
    net: Any, feats: Any, ids: list[str], passes: int, k: int, seed: int
) -> dict[str, PseudoLabel]:
    """Monte-Carlo-dropout seed set: majority vote over ``passes`` stochastic passes, top k per class."""
    import torch

    from perceptops.model.train import predict_safe

    pos = {i: n for n, i in enumerate(ids)}
    rows = np.arange(len(ids))
    votes: dict[int, dict[str, int]] = {0: {}, 1: {}}
    probs = np.zeros(len(ids))
    torch.manual_seed(int(seed))
    for _ in range(passes):
        p = predict_safe(net, feats, rows, mc=True)
        probs += p / passes
        for cls, chosen in _top_per_class(ids, p, k).items():
            for i in chosen:
                votes[cls][i] = votes[cls].get(i, 0) + 1
    seed_set: dict[str, PseudoLabel] = {}
    for cls in (1, 0):
        conf = {i: (probs[pos[i]] if cls == 1 else 1 - probs[pos[i]]) for i in votes[cls]}
        ranked = sorted(votes[cls], key=lambda i: (-votes[cls][i], -conf[i], i))
        for i in ranked[:k]:
            other = votes[1 - cls].get(i, 0)
            if other > votes[cls][i] or (other == votes[cls][i] and i in seed_set):
                continue  # chosen for both classes: the majority (or the first) wins
            seed_set[i] = PseudoLabel(cls, float(conf[i]), 0)
    return seed_set


def self_train(
    general_net: Any, pairs: Pairs, fp: FinetuneParams, seed: int, batch_size: int
) -> FinetuneResult:
    """Seed with MC dropout, then self-training rounds; returns the final net and the id-keyed labels."""
    from perceptops.model.train import cached_features

    if len(pairs) == 0:
        raise DataError(
            "the pseudo-label pool is empty: no image has both an image and a description embedding"
        )
    order = np.argsort(np.asarray(pairs.ids, dtype=object), kind="stable")  # canonical id order
    ids = [pairs.ids[i] for i in order]
    feats = cached_features(pairs.image[order], pairs.text[order])
    return self_train_rows(general_net, ids, feats, fp, seed, batch_size)


def self_train_rows(
    general_net: Any, ids: list[str], feats: Any, fp: FinetuneParams, seed: int, batch_size: int
) -> FinetuneResult:
    """``self_train`` on a feature source whose row r belongs to ``ids[r]`` (ids in sorted order).

    The benchmark passes a source that re-runs the encoders here, to compare with cached embeddings.
    """
    from perceptops.model.train import fit, predict_safe

    if not ids:
        raise DataError("the pseudo-label pool is empty: no image has a description embedding")
    if ids != sorted(ids):
        raise ValueError("self_train_rows needs the ids in sorted order (the canonical pool order)")
    pos = {i: n for n, i in enumerate(ids)}
    n = len(ids)
    k = min(fp.top_k, max(1, n // 2))

    labels = mc_dropout_seed(general_net, feats, ids, fp.mc_passes, k, seed)
    if len({pl.label for pl in labels.values()}) < 2:
        raise DataError(
            f"the Monte-Carlo-dropout seed set has one class only ({len(labels)} images): "
            "too few images for finetune.top_k, or the general model predicts one class everywhere"
        )
    summary = [{"round": 0, "added": len(labels), "labelled": len(labels), "fraction": len(labels) / n}]
    rng = np.random.default_rng(seed)
    net, history, val, split = None, [], {}, {}
    for rnd in range(1, fp.rounds + 1):
        lab_ids = sorted(labels)
        rows = np.array([pos[i] for i in lab_ids], np.int64)
        y_all = np.zeros(n, np.int64)
        for i in lab_ids:
            y_all[pos[i]] = labels[i].label  # written through the id -> row map
        tr, va = _split(rows, y_all[rows], fp.val_fraction, rng)
        split = {ids[r]: "train" for r in tr} | {ids[r]: "val" for r in va}
        net = copy.deepcopy(general_net)  # each round starts from the general weights
        history = fit(
            net,
            feats,
            y_all,
            tr,
            va,
            lr=fp.lr,
            batch_size=batch_size,
            max_epochs=fp.max_epochs,
            patience=fp.patience,
            seed=seed + rnd,
        )
        if len(va):
            p = predict_safe(net, feats, va)
            val = {"val_acc": float(((p >= 0.5).astype(int) == y_all[va]).mean()), "n_val": len(va)}
        pool = [i for i in ids if i not in labels]
        if rnd == fp.rounds or not pool or len(labels) / n >= fp.max_labelled_fraction:
            break
        p_pool = predict_safe(net, feats, np.array([pos[i] for i in pool], np.int64))
        p_by_id = dict(zip(pool, p_pool.tolist(), strict=True))
        added = 0
        for cls, chosen in _top_per_class(pool, p_pool, k).items():
            for i in chosen:
                if i in labels:
                    continue
                conf = p_by_id[i] if cls == 1 else 1.0 - p_by_id[i]
                labels[i] = PseudoLabel(cls, float(conf), rnd)
                added += 1
        summary.append({"round": rnd, "added": added, "labelled": len(labels), "fraction": len(labels) / n})
    return FinetuneResult(net=net, labels=labels, summary=summary, history=history, val=val, split=split)


def _split(rows: np.ndarray, y: np.ndarray, val_fraction: float, rng: np.random.Generator):
    """Stratified train/val split of the labelled rows (a class with one row stays in train)."""
    tr, va = [], []
    for cls in (0, 1):
        r = rows[y == cls]
        r = r[rng.permutation(len(r))]
        n_val = int(round(val_fraction * len(r))) if len(r) > 1 else 0
        va.extend(r[:n_val].tolist())
        tr.extend(r[n_val:].tolist())
    return np.array(sorted(tr), np.int64), np.array(sorted(va), np.int64)


def labels_frame(labels: dict[str, PseudoLabel]):
    import pandas as pd

    ids = sorted(labels)
    return pd.DataFrame(
        {
            "image_id": ids,
            "label": np.array([labels[i].label for i in ids], np.int64),
            "confidence": np.array([labels[i].confidence for i in ids], np.float64),
            "round": np.array([labels[i].round for i in ids], np.int64),
        }
    )


def finetune(params: Params, layout: Layout, group: str, scenario: str) -> dict:
    """The ``finetune@<group>-<scenario>`` stage."""
    import pandas as pd

    from perceptops.config import target_name
    from perceptops.model import io, plots
    from perceptops.model.data import load_pairs
    from perceptops.model.train import set_threads
    from perceptops.utils import write_json, write_parquet

    params.group(group)
    params.scenario(scenario)
    set_threads(params.train.threads)
    target = target_name(group, scenario)
    city, seed = params.train_city, params.project.seed
    pairs, enc = load_pairs(layout, city, target)
    general = io.load_model(layout.general_model_dir(), encoders=enc)
    if len(pairs) == 0:
        raise DataError(
            f"the pseudo-label pool for {target!r} is empty: no image of {city!r} has a {target!r} description "
            f"embedding ({len(pairs.missing_text)} images lack one); run describe and embed for {city!r}"
        )
    res = self_train(general.net, pairs, params.finetune, seed, params.train.batch_size)
    config = dict(general.config)
    config.update({"target": target, "group": group, "scenario": scenario, "seed": seed, "city": city})
    config["finetune"] = params.finetune.model_dump(mode="json")
    out = layout.finetune_dir(target)
    io.save_model(out, res.net, config)
    frame = labels_frame(res.labels)
    write_parquet(frame, layout.pseudo_labels(target))
    write_json(out / "history.json", res.history)
    split_ids = sorted(res.split)
    write_parquet(
        pd.DataFrame({"image_id": split_ids, "split": [res.split[i] for i in split_ids]}),
        out / "split.parquet",
    )
    write_json(out / "pseudo_summary.json", res.summary)
    metrics = {  # numbers only: dvc metrics show reads this file
        "pool": len(pairs),
        "skipped_no_description": len(pairs.missing_text),
        "seed_size": res.summary[0]["labelled"],
        "rounds": len(res.summary),
        "labelled": len(res.labels),
        "labelled_fraction": len(res.labels) / len(pairs),
        "pseudo_safe": int(frame["label"].sum()),
        "pseudo_unsafe": int((frame["label"] == 0).sum()),
        **res.val,
    }
    write_json(out / "metrics.json", metrics)
    plots.training_curves(res.history, out / "curves.png", title=f"fine-tune {target} (last round)")
    write_json(layout.root / "metrics" / "finetune" / f"{target}.json", metrics)
    return metrics
