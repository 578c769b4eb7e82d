"""The ``register`` stage: one MLflow run + one registered version per trained model, with lineage.

For ``models/general`` and every ``models/finetune/<t>``: an MLflow run (params, per-epoch metrics from
history.json, final metrics, plots, pseudo-label summary, datasets via ``mlflow.log_input``, a model
card, the model folder as ``safety_model/`` and an MLflow pytorch model), registered as
``safety-general`` / ``safety-<group>-<scenario>`` with alias ``candidate`` and lineage tags
(lineage.py). A model.pt whose md5 is already registered reuses that version (re-runs don't pile up
versions). With ``registry.auto_promote`` each new candidate then goes through the promotion gates.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from perceptops.errors import DataError, PerceptopsError
from perceptops.registry import CANDIDATE, GENERAL, model_name
from perceptops.registry.lineage import DvcLock, FileMd5, describer_info, encoder_info, git_info
from perceptops.utils import md5_file, read_json, sha256_text, stable_json, write_json

# Explicit requirements: inferring them spawns a subprocess per model (seconds) and pins a local torch build.
PIP_REQUIREMENTS = ["torch==2.13.0", "numpy", "pandas"]


# ------------------------------------------------------------------------------ small readers
def _flat(d: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(d, dict):
        for k, v in d.items():
            out.update(_flat(v, f"{prefix}{k}."))
    elif isinstance(d, list | tuple) and not any(isinstance(x, dict | list) for x in d):
        out[prefix[:-1]] = ",".join(map(str, d))
    elif not isinstance(d, list | tuple):
        out[prefix[:-1]] = d
    return out


def _numeric(d: dict[str, Any]) -> dict[str, float]:
    return {
        k: float(v) for k, v in _flat(d).items() if isinstance(v, int | float) and not isinstance(v, bool)
    }


def history_rows(history: Any) -> list[dict[str, float]]:
    """history.json as one dict of numbers per epoch (a list of dicts, or a dict of lists)."""
    if isinstance(history, dict) and "epochs" in history:
        history = history["epochs"]
    if isinstance(history, dict):
        keys = [k for k, v in history.items() if isinstance(v, list)]
        n = max((len(history[k]) for k in keys), default=0)
        history = [{k: history[k][i] for k in keys if i < len(history[k])} for i in range(n)]
    rows = []
    for row in history or []:
        if isinstance(row, dict):
            rows.append(
                {
                    k: float(v)
                    for k, v in row.items()
                    if isinstance(v, int | float) and not isinstance(v, bool)
                }
            )
    return rows


def evaluation_rows(root: Path) -> dict[str, dict[str, Any]]:
    """reports/evaluation/results.json keyed by target ({} when the evaluate stage has not run)."""
    f = root / "reports" / "evaluation" / "results.json"
    if not f.is_file():
        return {}
    data = read_json(f)
    if isinstance(data, dict) and isinstance(data.get("targets"), dict | list):
        data = data["targets"]
    if isinstance(data, list):
        return {r.get("target") or f"{r['group']}-{r['scenario']}": r for r in data if isinstance(r, dict)}
    return {k: v for k, v in data.items() if isinstance(v, dict)}


def eval_tags(target: str, rows: dict[str, dict[str, Any]], data_md5: str) -> dict[str, str]:
    """eval.* tags: a fine-tune's accuracy on its group; the general model's mean over the groups."""
    if not rows:
        return {}
    tags = {"eval.data_md5": data_md5}
    if target == GENERAL:
        accs = [float(r["general_acc"]) for r in rows.values() if r.get("general_acc") is not None]
        f1s = [float(r["general_f1"]) for r in rows.values() if r.get("general_f1") is not None]
        if accs:
            tags["eval.accuracy"] = f"{sum(accs) / len(accs):.6f}"
        if f1s:
            tags["eval.f1"] = f"{sum(f1s) / len(f1s):.6f}"
        for t, r in rows.items():
            if r.get("general_acc") is not None:
                tags[f"eval.acc.{t}"] = f"{float(r['general_acc']):.6f}"
        return tags
    r = rows.get(target)
    if not r or r.get("finetune_acc") is None:
        return {}
    tags["eval.accuracy"] = f"{float(r['finetune_acc']):.6f}"
    for src, dst in (("finetune_f1", "eval.f1"), ("general_acc", "eval.general_accuracy"), ("n", "eval.n")):
        if r.get(src) is not None:
            tags[dst] = str(r[src]) if src == "n" else f"{float(r[src]):.6f}"
    return tags


# ------------------------------------------------------------------------------ the model file
def load_net(model_dir: Path) -> Any:
    """The torch module of a model folder: perceptops.model.io when present, else config + state dict."""
    try:
        from perceptops.model.io import load_model
    except ImportError:
        load_model = None
    if load_model is not None:
        return load_model(model_dir).net
    import torch

    from perceptops.model.net import build_from_config

    obj = torch.load(model_dir / "model.pt", map_location="cpu", weights_only=False)
    if isinstance(obj, torch.nn.Module):
        return obj
    net = build_from_config(read_json(model_dir / "config.json"))
    net.load_state_dict(obj.get("state_dict", obj) if isinstance(obj, dict) else obj)
    return net


def scorer_module(net: Any, image_dim: int) -> Any:
    """Wrap the two-input net so MLflow's pytorch pyfunc can call it with one array [image | text] -> score 0-10.

    Defined in a function (pickled by value by MLflow's cloudpickle), so loading needs no perceptops import.
    """
    import torch

    class EmbeddingScorer(torch.nn.Module):
        def __init__(self, net: Any, image_dim: int):
            super().__init__()
            self.net, self.image_dim = net, image_dim

        def forward(self, x):
            x = x.float()
            logits = self.net(x[:, : self.image_dim], x[:, self.image_dim :])
            return 10.0 * torch.softmax(logits, dim=1)[:, 1:2]

    return EmbeddingScorer(net.eval(), image_dim)


# ------------------------------------------------------------------------------ model card
def model_card(
    name: str, target: str, tags: dict[str, str], sizes: dict[str, int], rows: dict[str, Any]
) -> str:
    group, scenario = tags.get("group", "all"), tags.get("scenario", "general")
    lines = [
        f"# Model card: {name}",
        "",
        "## Intended use",
        "Scores how safe a street view image looks (0-10 = 10 x P(safe)) from a frozen image embedding and "
        "the image's description text. "
        + (
            "General model: an average rater."
            if target == GENERAL
            else f"Population group **{group}**, perception scenario **{scenario}**."
        ),
        "Decision support for urban analysis of many images; not a judgement about any single place or person.",
        "",
        "## Training data",
        f"- training city: {tags.get('train_city')}",
        f"- images in the manifest: {sizes.get('manifest', 'n/a')}",
        f"- description rows ({tags.get('lineage.descriptions.path')}): {sizes.get('descriptions', 'n/a')}, "
        f"md5 {tags.get('lineage.descriptions.md5')}",
        f"- describer: {tags.get('describer.backend')} / {tags.get('describer.model')}, "
        f"prompt hash {tags.get('describer.prompt_hash')}",
        f"- encoders: image {tags.get('encoder.image')}, text {tags.get('encoder.text')}",
    ]
    if target == GENERAL:
        lines.append(f"- crowd labels ({tags.get('lineage.labels.path')}): {sizes.get('labels', 'n/a')} rows")
    else:
        lines.append(
            f"- pseudo-labels ({tags.get('lineage.pseudo_labels.path')}): {sizes.get('pseudo_labels', 'n/a')}"
            f" rows; started from safety-general v{tags.get('base.general_version')}"
        )
    lines += ["", "## Metrics (per group, on the training city's individual-level survey)", ""]
    if rows:
        lines += ["| target | n | general acc | fine-tune acc |", "| --- | --- | --- | --- |"]
        for t, r in rows.items():
            if target in (GENERAL, t):
                lines.append(
                    f"| {t} | {r.get('n', '')} | {r.get('general_acc', '')} | {r.get('finetune_acc', '')} |"
                )
    else:
        lines.append(
            "No evaluation results were available at registration (reports/evaluation/results.json)."
        )
    lines += [
        "",
        "## Known limits",
        "- Trained on one city's images and raters; other cities need a drift check (`perceptops drift`).",
        "- Pseudo-labels come from LLM-written descriptions, which carry the describer's biases.",
        "- Group perception is approximated by survey raters matching the group filter; small panels are noisy.",
        "",
        f"Lineage: git {tags.get('git.commit')} (dirty: {tags.get('git.dirty')}); `perceptops audit {name} <version>`.",
    ]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------ registration
def _find_existing(reg: Any, name: str, model_md5: str) -> Any | None:
    try:
        versions = reg.client.search_model_versions(f"name='{name}'")
    except Exception:
        return None
    same = [v for v in versions if (v.tags or {}).get("lineage.model.md5") == model_md5]
    return max(same, key=lambda v: int(v.version)) if same else None


def _log_dataset(mlflow: Any, path: Path, fm: FileMd5, name: str, context: str) -> int:
    import pandas as pd

    df = pd.read_parquet(path)
    ds = mlflow.data.from_pandas(df, source=f"{fm.path}@md5:{fm.md5}", name=name, digest=fm.md5[:32])
    mlflow.log_input(ds, context=context)
    return len(df)


def register_model(
    reg: Any,
    target: str,
    lock: DvcLock,
    common: dict[str, str],
    rows: dict[str, Any],
    base: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Register one model folder (or reuse the version holding the same model.pt). Returns the entry."""
    import mlflow

    from perceptops.paths import Layout

    params, root = reg.params, reg.root
    layout = Layout(root)
    city = params.train_city
    name = model_name(target)
    mdir = layout.general_model_dir() if target == GENERAL else layout.finetune_dir(target)
    for f in ("model.pt", "config.json"):
        if not (mdir / f).is_file():
            raise DataError(
                f"{mdir / f} is missing: run the {'train_general' if target == GENERAL else 'finetune'} "
                "stage (`dvc repro`) before register"
            )
    model_md5 = md5_file(mdir / "model.pt")
    existing = _find_existing(reg, name, model_md5)
    if existing is not None:
        return {
            "name": name,
            "version": str(existing.version),
            "run_id": existing.run_id,
            "aliases": sorted(existing.aliases or []),
            "target": target,
            "new": False,
        }

    # ---- lineage tags
    inputs: dict[str, Path] = {
        "manifest": layout.manifest(city),
        "descriptions": layout.descriptions(city, target),
    }
    if target == GENERAL:
        inputs["labels"] = layout.labels()
    else:
        inputs["pseudo_labels"] = layout.pseudo_labels(target)
    tags: dict[str, str] = dict(common)
    fms: dict[str, FileMd5] = {}
    for key, path in inputs.items():
        fms[key] = lock.file_md5(path)
        tags.update(fms[key].tags(key))
    tags.update(lock.file_md5(mdir / "model.pt").tags("model"))
    tags["lineage.model.md5"] = model_md5  # the dedup key: the bytes registered
    tags.update(describer_info(inputs["descriptions"]))
    tags.update(encoder_info(mdir, layout.embed_dir(city)))
    tags["target"] = target
    tags["train_city"] = city
    if target == GENERAL:
        tags["group"], tags["scenario"] = "all", "general"
    else:
        tags["group"], tags["scenario"] = params.parse_target(target)
        tags.update(base or {})
    tags.pop("eval.data_md5", None)  # set below only with evaluation numbers it identifies
    tags.update(eval_tags(target, rows, common.get("eval.data_md5", "")))

    # ---- the run
    config = read_json(mdir / "config.json")
    train_params = params.train if target == GENERAL else params.finetune
    run_params = {
        **_flat(config, "net."),
        **_flat(train_params.model_dump(mode="json"), "train."),
        "target": target,
        "train_city": city,
        "seed": params.project.seed,
    }
    with mlflow.start_run(experiment_id=reg.experiment_id(), run_name=f"{target}-{model_md5[:8]}") as run:
        from mlflow.entities import Metric, Param, RunTag

        t_ms = 0
        metrics: list[Metric] = []
        hist = mdir / "history.json"
        for i, row in enumerate(history_rows(read_json(hist)) if hist.is_file() else []):
            step = int(row.pop("epoch", i + 1))
            metrics += [Metric(k, v, t_ms, step) for k, v in row.items()]
        for f, prefix in (("metrics.json", "test."), ("pseudo_summary.json", "pseudo.")):
            if (mdir / f).is_file():
                data = read_json(mdir / f)
                if prefix == "pseudo." and isinstance(data, list | dict):
                    rounds = data.get("rounds", data) if isinstance(data, dict) else data
                    for i, r in enumerate(rounds if isinstance(rounds, list) else []):
                        if isinstance(r, dict):
                            step = int(r.get("round", i + 1))
                            metrics += [
                                Metric(f"pseudo.{k}", v, t_ms, step)
                                for k, v in _numeric(r).items()
                                if k != "round"
                            ]
                else:
                    metrics += [Metric(prefix + k, v, t_ms, 0) for k, v in _numeric(data).items()]
        metrics += [
            Metric(k.replace("eval.", "eval_").replace(".", "_"), float(v), t_ms, 0)
            for k, v in tags.items()
            if k.startswith("eval.") and k not in ("eval.data_md5", "eval.n")
        ]
        reg.client.log_batch(
            run.info.run_id,
            metrics=metrics[:1000],
            params=[Param(k, str(v)[:6000]) for k, v in run_params.items()],
            tags=[RunTag(k, v) for k, v in tags.items()],
        )
        for i in range(1000, len(metrics), 1000):
            reg.client.log_batch(run.info.run_id, metrics=metrics[i : i + 1000])
        sizes: dict[str, int] = {}
        for key, path in inputs.items():
            sizes[key] = _log_dataset(mlflow, path, fms[key], f"{key}-{target}", "training")
        mlflow.log_artifacts(str(mdir), artifact_path="safety_model")
        for f in ("curves.png", "pseudo_summary.json"):
            if (mdir / f).is_file():
                mlflow.log_artifact(str(mdir / f), artifact_path="plots" if f.endswith(".png") else "summary")
        mlflow.log_text(model_card(name, target, tags, sizes, rows), "model_card.md")
        net = load_net(mdir)
        image_dim = int((config.get("encoders") or {}).get("image", {}).get("dim", 0))
        info = mlflow.pytorch.log_model(
            scorer_module(net, image_dim),
            name="model",
            pip_requirements=PIP_REQUIREMENTS,
            serialization_format="pickle",
            # The model folder rides along, so models:/NAME@champion also yields config.json + model.pt
            # for perceptops.model.io.load_model (maps, serving).
            extra_files=[str(mdir / "model.pt"), str(mdir / "config.json")],
        )
    # register_model passes the logged model's id along (a tracking server requires it for models:/ sources)
    mv = mlflow.register_model(info.model_uri, name, tags=tags)
    reg.client.set_registered_model_alias(name, CANDIDATE, str(mv.version))
    return {
        "name": name,
        "version": str(mv.version),
        "run_id": run.info.run_id,
        "aliases": [CANDIDATE],
        "target": target,
        "new": True,
    }


def common_tags(reg: Any, lock: DvcLock) -> dict[str, str]:
    """Tags shared by every version of one register run: git, validation, evaluation-data identity."""
    from perceptops.paths import Layout

    root, city = reg.root, reg.params.train_city
    tags = git_info(root)
    vf = Layout(root).metrics(f"validate/{city}")
    tags["data.validation_file"] = vf.relative_to(root).as_posix()
    tags["data.validation_passed"] = (
        str(bool(read_json(vf).get("passed"))).lower() if vf.is_file() else "unknown"
    )
    survey = lock.outs.get(f"data/{city}/survey", "")
    tags["eval.data_md5"] = sha256_text(
        stable_json({"survey": survey, "evaluate": reg.params.evaluate.model_dump(mode="json")})
    )[:32]
    return tags


def register_all(params: Any = None, root: Path | None = None) -> dict[str, Any]:
    """The register stage: every model, then auto-promotion, then ``registry/registered.json``."""
    from perceptops.paths import Layout
    from perceptops.progress import track
    from perceptops.registry.promotion import promote
    from perceptops.registry.tracking import connect

    reg = connect(params, root)
    layout = Layout(reg.root)
    lock = DvcLock(reg.root)
    rows = evaluation_rows(reg.root)
    common = common_tags(reg, lock)
    targets = [GENERAL, *reg.params.target_names()]
    entries: list[dict[str, Any]] = []
    base: dict[str, str] = {}
    for target in track(targets, description="register", total=len(targets)):
        entry = register_model(reg, target, lock, common, rows, base)
        entries.append(entry)
        if target == GENERAL:
            base = {
                "base.general_version": entry["version"],
                "base.general_model_md5": md5_file(layout.general_model_dir() / "model.pt"),
            }
    if reg.params.registry.auto_promote:
        for e in entries:
            if not e["new"]:
                continue  # a reused version keeps its aliases: a re-run must not undo a rollback
            try:
                promote(reg, e["name"], e["version"], action="auto-promote")
                print(f"promoted {e['name']} v{e['version']} to champion")
            except PerceptopsError as err:
                print(f"not promoted: {err}")
    for e in entries:
        mv = reg.client.get_model_version(e["name"], e["version"])
        e["aliases"] = sorted(mv.aliases or [])
    out = {
        "models": [{k: e[k] for k in ("name", "version", "run_id", "aliases", "target")} for e in entries],
        "tracking_uri": reg.uri,
    }
    write_json(layout.registry_dir() / "registered.json", out)
    return out
