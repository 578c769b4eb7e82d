"""Per-group evaluation: general model vs each group's fine-tune, against that group's own Q-scores.

For every group x scenario with survey truth: the images with at least ``evaluate.min_comparisons``
comparisons, truth = the group's Q-score >= ``evaluate.threshold``; the general model scores
(image, general description), the fine-tune scores (image, group/scenario description); a score
>= threshold counts as safe. Images in the general model's train/val split are left out whenever
at least ``evaluate.min_images`` others remain (the table says which set was used).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from perceptops.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

    from perceptops.config import Params
    from perceptops.paths import Layout


def _acc_f1(y: np.ndarray, pred: np.ndarray) -> tuple[float, float]:
    from perceptops.model.train import accuracy_f1

    return accuracy_f1(y, pred)


def _held_out(layout: Layout) -> set[str] | None:
    """Image ids the general model never trained or early-stopped on (None: no split file)."""
    import pandas as pd

    path = layout.general_model_dir() / "split.parquet"
    if not path.is_file():
        return None
    split = pd.read_parquet(path)
    return set(split.loc[split["split"].isin(["train", "val"]), "image_id"].astype(str))


def evaluate_target(
    truth: pd.DataFrame,
    general,
    finetuned,
    gen_pairs,
    tgt_pairs,
    used: set[str] | None,
    threshold: float,
    min_images: int,
) -> dict:
    """One row of the table. ``truth``: image_id, q for one group x scenario."""
    gen_pos, tgt_pos = gen_pairs.index(), tgt_pairs.index()
    ids = sorted(i for i in truth["image_id"].astype(str) if i in gen_pos and i in tgt_pos)
    no_desc = int(truth["image_id"].astype(str).map(lambda i: i not in gen_pos or i not in tgt_pos).sum())
    images = "all with survey truth"
    if used is not None:
        held = [i for i in ids if i not in used]
        if len(held) >= min_images:
            ids, images = held, "not in the general model's train/val split"
        else:
            images = f"all with survey truth (only {len(held)} held out < evaluate.min_images)"
    if not ids:
        return {"n": 0, "images": images, "skipped_no_description": no_desc}
    q = truth.assign(image_id=truth["image_id"].astype(str)).set_index("image_id")["q"].astype(float)
    y = (q.loc[ids].to_numpy() >= threshold).astype(int)
    gi = np.array([gen_pos[i] for i in ids])
    ti = np.array([tgt_pos[i] for i in ids])
    s_gen = general.score(gen_pairs.image[gi], gen_pairs.text[gi])
    s_fin = finetuned.score(tgt_pairs.image[ti], tgt_pairs.text[ti])
    g_acc, g_f1 = _acc_f1(y, (s_gen >= threshold).astype(int))
    f_acc, f_f1 = _acc_f1(y, (s_fin >= threshold).astype(int))
    return {
        "n": len(ids),
        "safe_share": float(y.mean()),
        "images": images,
        "skipped_no_description": no_desc,
        "general_acc": g_acc,
        "finetune_acc": f_acc,
        "general_f1": g_f1,
        "finetune_f1": f_f1,
        "gain": f_acc - g_acc,
    }


def evaluate(params: Params, layout: Layout) -> dict:
    """The ``evaluate`` stage: reports/evaluation/{table.md, results.json, accuracy.png}, metrics/evaluate.json."""
    import pandas as pd

    from perceptops.config import target_name
    from perceptops.model import io, plots
    from perceptops.model.data import load_pairs
    from perceptops.utils import write_json

    city, ep = params.train_city, params.evaluate
    qpath = layout.qscores(city)
    if not qpath.is_file():
        raise DataError(f"{qpath} not found: run the survey stage for {city!r} first")
    qs = pd.read_parquet(qpath)
    gen_pairs, enc = load_pairs(layout, city, "general")
    general = io.load_model(layout.general_model_dir(), encoders=enc)
    used = _held_out(layout)
    results: dict[str, dict] = {}
    skipped: dict[str, str] = {}
    for group, scenario in params.targets():
        t = target_name(group, scenario)
        truth = qs[(qs["group"] == group) & (qs["scenario"] == scenario) & (qs["n"] >= ep.min_comparisons)]
        if truth.empty:
            skipped[t] = f"no images with >= {ep.min_comparisons} comparisons (evaluate.min_comparisons)"
            continue
        fdir = layout.finetune_dir(t)
        if not (fdir / io.MODEL_FILE).is_file():
            raise DataError(f"no fine-tuned model in {fdir}: run the finetune@{t} stage first")
        tgt_pairs, _ = load_pairs(layout, city, t)
        row = evaluate_target(
            truth[["image_id", "q"]],
            general,
            io.load_model(fdir, encoders=enc),
            gen_pairs,
            tgt_pairs,
            used,
            ep.threshold,
            ep.min_images,
        )
        if row["n"] == 0:
            skipped[t] = "no evaluated image has both description embeddings"
            continue
        results[t] = {"group": group, "scenario": scenario, **row}
    if not results:
        raise DataError(
            f"no group x scenario has survey truth in {qpath} with >= {ep.min_comparisons} comparisons "
            "(evaluate.min_comparisons): check the survey stage"
        )
    out = layout.evaluation_dir()
    write_json(
        out / "results.json",
        {"targets": results, "skipped": skipped, "threshold": ep.threshold, "city": city},
    )
    (out / "table.md").parent.mkdir(parents=True, exist_ok=True)
    (out / "table.md").write_text(render_table(results, skipped, ep.threshold, city))
    plots.accuracy_bars(results, out / "accuracy.png")
    flat = {}
    for t, r in results.items():
        for key in ("general_acc", "finetune_acc", "general_f1", "finetune_f1", "gain", "n"):
            flat[f"{t}.{key}"] = r[key]
    flat["mean_gain"] = float(np.mean([r["gain"] for r in results.values()]))
    flat["finetune_wins"] = int(sum(r["finetune_acc"] > r["general_acc"] for r in results.values()))
    write_json(layout.metrics("evaluate"), flat)
    return results


def render_table(results: dict[str, dict], skipped: dict[str, str], threshold: float, city: str) -> str:
    lines = [
        f"# Evaluation on {city}: general model vs group fine-tunes",
        "",
        f"Truth: each group's own Q-scores binarised at {threshold} (safe if >= {threshold}); "
        f"predictions: score = 10 x P(safe) >= {threshold}.",
        "",
        "| group | scenario | n | safe share | general acc | fine-tune acc | gain | general F1 | fine-tune F1 | images |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in results.values():
        lines.append(
            f"| {r['group']} | {r['scenario']} | {r['n']} | {r['safe_share']:.2f} | {r['general_acc']:.3f} | "
            f"{r['finetune_acc']:.3f} | {r['gain']:+.3f} | {r['general_f1']:.3f} | {r['finetune_f1']:.3f} | "
            f"{r['images']} |"
        )
    for t, why in skipped.items():
        lines.append(f"\nSkipped {t}: {why}")
    return "\n".join(lines) + "\n"
