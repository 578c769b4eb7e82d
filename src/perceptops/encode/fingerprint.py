"""Content fingerprints of model files and folders, so a backend/encoder id changes with the weights."""

from __future__ import annotations

from pathlib import Path

from perceptops.utils import sha256_file, sha256_text


def path_fingerprint(path: Path) -> str:
    """sha256 of a file, or of the sorted (relative name, sha256) list of every file in a folder."""
    if path.is_file():
        return sha256_file(path)
    parts = []
    for f in sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")):
        parts.append(f"{f.relative_to(path).as_posix()}:{sha256_file(f)}")
    return sha256_text("\n".join(parts))


def local_model_path(model: str) -> Path | None:
    """The expanded local path of ``model`` when it exists (else None: a hub name or a missing path)."""
    from perceptops.paths import expand

    try:
        p = expand(model)
    except Exception:  # no project root (e.g. inside a service): take the path as given
        p = Path(model).expanduser().resolve()
    return p if p.exists() else None


def looks_like_path(model: str) -> bool:
    """A hub name is ``name`` or ``org/name``; anything with a leading ./ / ~ $ or a file suffix is a path."""
    return (
        model.startswith(("/", ".", "~", "$"))
        or model.count("/") > 1
        or model.endswith((".tflite", ".bin", ".safetensors", ".onnx"))
    )
