"""Training curves and the evaluation bar chart (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> None:
    from perceptops.utils import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp:
        # metadata={"Software": None}: no version/date stamp, so the same data gives the same bytes
        fig.savefig(tmp, format="png", dpi=100, metadata={"Software": None})


def training_curves(history: list[dict], path: str | Path, title: str = "") -> None:
    """Loss and validation loss per epoch (left), validation accuracy (right)."""
    plt = _plt()
    epochs = [h["epoch"] for h in history]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.5))
    ax1.plot(epochs, [h["loss"] for h in history], label="train loss")
    if history and "val_loss" in history[0]:
        ax1.plot(epochs, [h["val_loss"] for h in history], label="val loss")
        ax2.plot(epochs, [h["val_acc"] for h in history], color="tab:green")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("cross-entropy")
    ax1.legend()
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("val accuracy")
    ax2.set_ylim(0, 1)
    fig.suptitle(title)
    fig.tight_layout()
    _save(fig, Path(path))
    plt.close(fig)


def accuracy_bars(results: dict[str, dict], path: str | Path) -> None:
    """Grouped bars: general vs fine-tuned accuracy per group x scenario."""
    import numpy as np

    plt = _plt()
    names = list(results)
    x = np.arange(len(names))
    gen = [results[n]["general_acc"] or 0 for n in names]
    fin = [results[n]["finetune_acc"] or 0 for n in names]
    fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(names) + 2), 4))
    ax.bar(x - 0.2, gen, 0.4, label="general model")
    ax.bar(x + 0.2, fin, 0.4, label="group fine-tune")
    ax.set_xticks(x, [f"{n}\n(n={results[n]['n']})" for n in names], rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("accuracy vs the group's own Q-scores")
    ax.set_ylim(0, 1)
    ax.axhline(0.5, color="grey", lw=0.8, ls="--")
    ax.legend()
    fig.tight_layout()
    _save(fig, Path(path))
    plt.close(fig)
