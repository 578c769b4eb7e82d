"""Training on cached embeddings: the shared fit loop and the ``train_general`` stage.

Determinism: the net is built right after ``torch.manual_seed(seed)``, batches are shuffled by a
``torch.Generator`` seeded from ``seed``, and only deterministic CPU ops are used, so a seed gives the
same weights, the same predictions and the same ``model.pt`` bytes on every run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from perceptops.errors import DataError

if TYPE_CHECKING:
    from perceptops.config import Params
    from perceptops.paths import Layout

# A feature source maps row indices to (image batch, text batch) tensors. The cached one slices
# embedding matrices; the benchmark's reference one runs the frozen encoders on every call.
Features = Callable[[np.ndarray], tuple[Any, Any]]


def cached_features(image: np.ndarray, text: np.ndarray) -> Features:
    import torch

    ti, tt = (
        torch.from_numpy(np.array(image, np.float32)),
        torch.from_numpy(np.array(text, np.float32)),
    )

    def get(idx: np.ndarray):
        ix = torch.from_numpy(np.asarray(idx, np.int64))
        return ti[ix], tt[ix]

    return get


def set_threads(n: int) -> None:
    import torch

    if torch.get_num_threads() != n:
        torch.set_num_threads(n)


def fit(
    net: Any,
    feats: Features,
    y: np.ndarray,
    train_idx: np.ndarray,
    val_idx: np.ndarray,
    *,
    lr: float,
    batch_size: int,
    max_epochs: int,
    patience: int,
    seed: int,
    weight_decay: float = 0.0,
    on_epoch: Callable[[int, dict], None] | None = None,
) -> list[dict]:
    """Adam + cross-entropy with early stopping on validation loss; the best epoch's weights are kept.

    Without validation rows the training loss decides the stop. Returns the per-epoch history.
    """
    import torch
    from torch.nn import functional as F

    yt = torch.from_numpy(np.array(y, np.int64))  # a copy: inputs may be read-only arrays
    train_idx = np.asarray(train_idx, np.int64)
    val_idx = np.asarray(val_idx, np.int64)
    # foreach: one batched update over all parameter tensors (the per-tensor loop dominated small nets)
    opt = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=weight_decay, foreach=True)
    gen = torch.Generator().manual_seed(int(seed))
    history: list[dict] = []
    best, best_state, waited = float("inf"), None, 0
    for epoch in range(1, max_epochs + 1):
        net.train()
        order = train_idx[torch.randperm(len(train_idx), generator=gen).numpy()]
        total, seen = 0.0, 0
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            xi, xt = feats(idx)
            loss = F.cross_entropy(net(xi, xt), yt[torch.from_numpy(idx)])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
            seen += len(idx)
        row = {"epoch": epoch, "loss": total / max(seen, 1)}
        if len(val_idx):
            logits = _logits(net, feats, val_idx, batch_size)
            yv = yt[torch.from_numpy(val_idx)]
            row["val_loss"] = float(F.cross_entropy(logits, yv))
            row["val_acc"] = float((logits.argmax(1) == yv).float().mean())
        history.append(row)
        if on_epoch is not None:
            on_epoch(epoch, row)
        score = row.get("val_loss", row["loss"])
        if score < best - 1e-6:
            best, waited = score, 0
            best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
        else:
            waited += 1
            if waited >= patience:
                break
    if best_state is not None:
        net.load_state_dict(best_state)
    net.eval()
    return history


def _logits(net: Any, feats: Features, idx: np.ndarray, batch_size: int, mc: bool = False):
    import torch

    net.train(mc)  # dropout on only for Monte-Carlo passes
    out = []
    with torch.no_grad():
        for start in range(0, len(idx), max(batch_size, 256)):
            xi, xt = feats(idx[start : start + max(batch_size, 256)])
            out.append(net(xi, xt))
    net.eval()
    return torch.cat(out) if out else torch.zeros((0, 2))


def predict_safe(
    net: Any, feats: Features, idx: np.ndarray, batch_size: int = 256, mc: bool = False
) -> np.ndarray:
    """P(safe) for the rows ``idx``; ``mc=True`` keeps dropout active (one Monte-Carlo pass)."""
    import torch

    logits = _logits(net, feats, np.asarray(idx, np.int64), batch_size, mc=mc)
    return torch.softmax(logits, dim=1)[:, 1].numpy().astype(np.float64)


def accuracy_f1(y: np.ndarray, pred: np.ndarray) -> tuple[float, float]:
    """Accuracy and F1 of class 1 (0 when there is no positive prediction or truth), in numpy: importing
    sklearn.metrics costs more than a whole fine-tune here."""
    y, pred = np.asarray(y, int), np.asarray(pred, int)
    tp = int(((pred == 1) & (y == 1)).sum())
    denom = int((pred == 1).sum() + (y == 1).sum())
    return float((y == pred).mean()), (2 * tp / denom if denom else 0.0)


def roc_auc(y: np.ndarray, score: np.ndarray) -> float | None:
    """Area under the ROC curve (Mann-Whitney U with mid-ranks for ties); None with one class only."""
    from scipy.stats import rankdata

    y = np.asarray(y, int)
    n1, n0 = int((y == 1).sum()), int((y == 0).sum())
    if n1 == 0 or n0 == 0:
        return None
    ranks = rankdata(np.asarray(score, float))
    return float((ranks[y == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def binary_metrics(y: np.ndarray, p_safe: np.ndarray) -> dict:
    """Accuracy, F1 (class 1 = safe) and ROC AUC (None when the rows hold one class only)."""
    y = np.asarray(y, int)
    if not len(y):
        return {"n": 0, "accuracy": None, "f1": None, "roc_auc": None}
    acc, f1 = accuracy_f1(y, (np.asarray(p_safe) >= 0.5).astype(int))
    return {"n": len(y), "accuracy": acc, "f1": f1, "roc_auc": roc_auc(y, p_safe)}


def stratified_split(
    ids: list[str], y: np.ndarray, fractions: tuple[float, float, float], seed: int
) -> np.ndarray:
    """'train' / 'val' / 'test' per row, stratified by label and seeded; each split gets both classes."""
    y = np.asarray(y, int)
    n = len(ids)
    rng = np.random.default_rng(seed)
    split = np.empty(n, dtype=object)
    for cls in (0, 1):
        rows = np.flatnonzero(y == cls)
        rows = rows[np.argsort(np.asarray(ids, dtype=object)[rows], kind="stable")]  # id order, then shuffle
        rows = rows[rng.permutation(len(rows))]
        n_test = int(round(fractions[2] * len(rows)))
        n_val = int(round(fractions[1] * len(rows)))
        if (
            len(rows) - n_test - n_val < 1
            or (fractions[1] > 0 and n_val < 1)
            or (fractions[2] > 0 and n_test < 1)
        ):
            raise DataError(
                f"only {len(rows)} {'safe' if cls else 'unsafe'} example(s): too few for train.split "
                f"{list(fractions)}; lower labels.k_sd or use more images"
            )
        split[rows[:n_test]] = "test"
        split[rows[n_test : n_test + n_val]] = "val"
        split[rows[n_test + n_val :]] = "train"
    return split


def new_net(config: dict, seed: int):
    import torch

    from perceptops.model.net import build_from_config

    torch.manual_seed(int(seed))
    return build_from_config(config)


def train_rows(
    config: dict,
    feats: Features,
    y: np.ndarray,
    split: np.ndarray,
    tp: Any,
    seed: int,
    on_epoch: Callable[[int, dict], None] | None = None,
) -> tuple[Any, list[dict]]:
    """A fresh seeded net fitted on the 'train' rows, early-stopped on the 'val' rows."""
    net = new_net(config, seed)
    tr, va = np.flatnonzero(split == "train"), np.flatnonzero(split == "val")
    history = fit(
        net,
        feats,
        y,
        tr,
        va,
        lr=tp.lr,
        batch_size=tp.batch_size,
        max_epochs=tp.max_epochs,
        patience=tp.patience,
        seed=seed,
        weight_decay=tp.weight_decay,
        on_epoch=on_epoch,
    )
    return net, history


def train_general(params: Params, layout: Layout) -> dict:
    """The ``train_general`` stage: labels + cached (image, general text) embeddings -> models/general."""
    import pandas as pd

    from perceptops.model import io, plots
    from perceptops.model.data import load_pairs
    from perceptops.model.net import net_config
    from perceptops.progress import make_progress
    from perceptops.utils import write_json, write_parquet

    set_threads(params.train.threads)
    city, seed, tp = params.train_city, params.project.seed, params.train
    if not layout.labels().is_file():
        raise DataError(f"{layout.labels()} not found: run the labels stage first")
    labels = pd.read_parquet(layout.labels()).set_index("image_id")["label"]
    pairs, enc = load_pairs(layout, city, "general", ids=sorted(labels.index))
    if len(pairs) == 0:
        raise DataError(
            f"none of the {len(labels)} labelled images has both an image and a general description "
            f"embedding in {layout.embed_dir(city)}: run the describe and embed stages for {city!r}"
        )
    y = labels.loc[pairs.ids].to_numpy(int)  # looked up by image id, never by position
    split = stratified_split(pairs.ids, y, tp.split, seed)
    config = net_config(params.net, enc["image"], enc["text"])
    config.update({"seed": seed, "target": "general", "city": city})
    feats = cached_features(pairs.image, pairs.text)
    tr, va, te = (np.flatnonzero(split == s) for s in ("train", "val", "test"))
    with make_progress(loss="-", val_loss="-") as prog:
        task = prog.add_task("train general", total=tp.max_epochs, loss="-", val_loss="-")

        def tick(epoch: int, row: dict) -> None:
            prog.update(
                task, completed=epoch, loss=f"{row['loss']:.3f}", val_loss=f"{row.get('val_loss', 0):.3f}"
            )

        net, history = train_rows(config, feats, y, split, tp, seed, on_epoch=tick)
    test = binary_metrics(y[te], predict_safe(net, feats, te))
    metrics = {
        "accuracy": test["accuracy"],
        "f1": test["f1"],
        "roc_auc": test["roc_auc"],
        "n_test": test["n"],
        "n_train": len(tr),
        "n_val": len(va),
        "epochs": len(history),
        "skipped_no_description": len(pairs.missing_text),
        "skipped_no_image": len(pairs.missing_image),
    }
    out = layout.general_model_dir()
    io.save_model(out, net, config)
    write_json(out / "history.json", history)
    write_json(out / "metrics.json", metrics)
    write_parquet(pd.DataFrame({"image_id": pairs.ids, "split": split.astype(str)}), out / "split.parquet")
    plots.training_curves(history, out / "curves.png", title="general model")
    write_json(layout.metrics("train_general"), metrics)
    return metrics
