"""``perceptops package``: champions from MLflow -> BentoML model store -> a self-contained bento.

Every ``champion`` (``safety-general`` and ``safety-<group>-<scenario>``) is imported with
``bentoml.mlflow.import_model`` carrying its lineage (MLflow name/version/run and every version tag:
git commit, description md5, prompt hash, encoder ids, ...) as labels. A ``perceptops-runtime`` model
holds what the service needs without MLflow (params snapshot, prompts, encoder files). The bento is
then built from ``bentofile.yaml`` offline (``lock_packages: false``), with the project's ``src/`` as
build context so the store (``$BENTOML_HOME``, default ``<project>/bentoml``) is never copied into it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from perceptops.errors import BackendError, ConfigError, DataError

BENTOFILE = "bentofile.yaml"
ENV_HOME = "BENTOML_HOME"
# params keys that may name a local model file/folder the service needs at run time
FILE_KEYS = (
    ("encode", "image", "model"),
    ("encode", "text", "model"),
    ("scene", "model"),
    ("describe", "transformers", "model"),
)


def bentoml_home(root: Path) -> Path:
    """$BENTOML_HOME, else <project>/bentoml (gitignored, outside the build context)."""
    return Path(os.environ.get(ENV_HOME) or root / "bentoml").resolve()


def use_home(root: Path) -> Path:
    """Point BentoML at the project store; must run before ``import bentoml``."""
    home = bentoml_home(root)
    home.mkdir(parents=True, exist_ok=True)
    os.environ[ENV_HOME] = str(home)
    os.environ.setdefault("BENTOML_DO_NOT_TRACK", "true")
    return home


def _labels(mv: Any, target: str) -> dict[str, str]:
    labels = {
        "perceptops.target": target,
        "mlflow.name": mv.name,
        "mlflow.version": str(mv.version),
        "mlflow.run_id": str(mv.run_id),
    }
    for k, v in (mv.tags or {}).items():
        if isinstance(v, str) and len(v) <= 1000:
            labels[k] = v
    return labels


def _find_reusable(name: str, labels: dict[str, str]) -> Any:
    """An earlier import of the same MLflow version (same run): re-packaging must not grow the store."""
    import bentoml
    from bentoml.exceptions import NotFound

    try:
        found = bentoml.models.list(name)
    except NotFound:  # first package of this model
        return None
    for m in found:
        ml = m.info.labels
        if (
            ml.get("mlflow.version") == labels["mlflow.version"]
            and ml.get("mlflow.run_id") == labels["mlflow.run_id"]
        ):
            return m
    return None


def import_champions(params: Any, root: Path, allow_missing: bool = False) -> list[dict[str, Any]]:
    """Import each champion into the BentoML store; returns manifest entries (general first)."""
    from perceptops.registry import CHAMPION, model_name
    from perceptops.registry.tracking import connect, get_version
    from perceptops.serve.runtime import find_model_dir

    reg = connect(params, root)
    import bentoml
    import bentoml.mlflow

    from perceptops.progress import track

    os.environ.setdefault(
        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false"
    )  # one bar (ours), not one per model
    targets = ["general", *params.target_names()]
    entries, missing = [], []
    for target in track(targets, description="import champions", total=len(targets)):
        name = model_name(target)
        try:
            mv = get_version(reg, name, alias=CHAMPION)
        except ConfigError:
            missing.append(name)
            continue
        labels = _labels(mv, target)
        bm = _find_reusable(name, labels)
        if bm is None:
            bm = bentoml.mlflow.import_model(name, f"models:/{name}@{CHAMPION}", labels=labels)
        base = Path(bm.path)
        try:
            mdir = find_model_dir(base)
        except DataError:
            raise DataError(
                f"{name} version {mv.version}: the MLflow model holds no perceptops model folder "
                "(config.json + model.pt); re-register it with the register stage"
            ) from None
        entries.append(
            {
                "target": target,
                "name": name,
                "version": str(mv.version),
                "run_id": mv.run_id,
                "tag": str(bm.tag),
                "model_dir": mdir.relative_to(base).as_posix(),
                "labels": labels,
            }
        )
    if missing and (not allow_missing or not entries or entries[0]["target"] != "general"):
        raise DataError(
            f"no '{CHAMPION}' alias on: {', '.join(missing)}; promote a version "
            "(`perceptops promote MODEL VERSION`) or run the register stage"
            + ("" if allow_missing else " (or package without them: --allow-missing)")
        )
    return entries


def snapshot_params(params: Any, root: Path, dest: Path) -> dict[str, Any]:
    """params as plain data, local model files copied to dest/files/ and re-pointed there."""
    from perceptops.paths import expand

    data = params.model_dump(mode="json", by_alias=True)
    for keys in FILE_KEYS:
        node = data
        for k in keys[:-1]:
            node = node.get(k) or {}
        value = node.get(keys[-1]) if isinstance(node, dict) else None
        if not value:
            continue
        src = expand(value, root)
        if not src.exists():
            continue  # a hub name: the service needs it in its Hugging Face cache (see docs/serving.md)
        rel = Path("files") / "-".join(keys) / src.name
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dest / rel)
        else:
            shutil.copy2(src, dest / rel)
        node[keys[-1]] = rel.as_posix()
    return data


def write_runtime(params: Any, root: Path, entries: list[dict[str, Any]]) -> Any:
    """The ``perceptops-runtime`` BentoML model (params snapshot, prompts, manifest, model files)."""
    import bentoml
    from ruamel.yaml import YAML

    from perceptops.registry.lineage import git_info
    from perceptops.serve.runtime import MANIFEST, RUNTIME_MODEL
    from perceptops.utils import write_json

    git = git_info(root)
    labels = {
        "git.commit": git["git.commit"],
        "git.dirty": git["git.dirty"],
        "models": ",".join(f"{e['name']}:{e['version']}" for e in entries),
    }
    with bentoml.models.create(RUNTIME_MODEL, labels=labels) as m:
        dest = Path(m.path)
        data = snapshot_params(params, root, dest)
        with open(dest / "params.yaml", "w") as f:
            YAML().dump(data, f)  # round-trip dumper keeps key order (groups, scenarios)
        if (root / "prompts").is_dir():
            shutil.copytree(root / "prompts", dest / "prompts")
        write_json(dest / MANIFEST, {"models": entries, "threshold": params.evaluate.threshold, "git": git})
    return m


def build_bento(params: Any, root: Path, tags: list[str], labels: dict[str, str]) -> Any:
    """``bentoml build`` of bentofile.yaml (models added), build context <project>/src, offline."""
    from ruamel.yaml import YAML

    f = root / BENTOFILE
    if not f.is_file():
        raise ConfigError(f"{f} not found: the bento is built from it (restore it from the repository)")
    cfg = dict(YAML(typ="safe").load(f.read_text()) or {})
    python = dict(cfg.get("python") or {})
    if python.get("lock_packages", True):
        raise ConfigError(f"{f}: set python.lock_packages: false (locking needs PyPI; this build is offline)")
    cfg["python"] = python
    cfg["name"] = params.serve.bento
    cfg["models"] = [*(cfg.get("models") or []), *tags]
    cfg["labels"] = {**(cfg.get("labels") or {}), **labels}
    cfg.pop("build_ctx", None)
    import bentoml

    # The models to include are only known now: build from a copy of bentofile.yaml that lists them.
    with tempfile.TemporaryDirectory(prefix="perceptops-bentofile-") as tmp:
        merged = Path(tmp) / BENTOFILE
        with open(merged, "w") as fh:
            YAML(typ="safe").dump(cfg, fh)
        try:
            return bentoml.bentos.build_bentofile(str(merged), build_ctx=str(root / "src"))
        except Exception as err:  # BentoML's own errors are long; keep the cause on one line
            raise BackendError(f"bentoml build failed ({type(err).__name__}: {err}); check {f}") from err


def package(params: Any, root: Path, allow_missing: bool = False, build: bool = True) -> dict[str, Any]:
    """Import champions, write the runtime, build the bento. Returns a summary (tags, labels)."""
    home = use_home(root)
    from perceptops.registry.lineage import git_info

    entries = import_champions(params, root, allow_missing=allow_missing)
    runtime = write_runtime(params, root, entries)
    out: dict[str, Any] = {
        "bentoml_home": str(home),
        "runtime": str(runtime.tag),
        "models": [{k: e[k] for k in ("target", "name", "version", "tag")} for e in entries],
    }
    if build:
        git = git_info(root)
        bento = build_bento(
            params,
            root,
            [str(runtime.tag), *(e["tag"] for e in entries)],
            {"git.commit": git["git.commit"], "runtime": str(runtime.tag)},
        )
        out["bento"] = str(bento.tag)
        out["bento_path"] = str(bento.path)
    return out
