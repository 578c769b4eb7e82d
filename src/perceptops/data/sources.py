"""SVI sources: where a city's images come from, listed as candidates for ingest.

A source lists *candidates* (source id, path relative to the source root, optional location);
ingest then hashes them. Nothing here decodes an image. Paths that escape the source root are
detected by :func:`safe_path` and never read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from perceptops.errors import ConfigError, DataError
from perceptops.paths import Layout, expand

if TYPE_CHECKING:
    import pandas as pd

    from perceptops.config import Params

IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"}
META_FILES = ("images.csv", "metadata.csv")  # folder source: optional id/lat/lon/heading/captured_at
META_COLUMNS = ("lat", "lon", "heading", "captured_at")
CANDIDATE_COLUMNS = ["source_id", "path", "lat", "lon", "heading", "captured_at"]

PATH_ESCAPE = "path_escape"
MISSING_FILE = "missing_file"


@dataclass
class Listing:
    """What a source offers: candidate images plus source-specific extras and the CSV problems met."""

    candidates: pd.DataFrame
    scores: pd.DataFrame | None = None  # placepulse1: source_id, score
    raw_votes: pd.DataFrame | None = None  # synthetic / placepulse2: pairwise votes by source id
    issues: dict[str, int] = field(default_factory=dict)  # csv_missing_columns, csv_bad_values, ...
    notes: list[str] = field(default_factory=list)  # one line per issue, for the ingest report

    def issue(self, code: str, note: str, n: int = 1) -> None:
        self.issues[code] = self.issues.get(code, 0) + n
        self.notes.append(note)


def source_root(params: Params, layout: Layout, city: str) -> Path:
    """The folder manifest paths are relative to (absolute image path = root / path)."""
    cp = params.city(city)
    if cp.source == "synthetic":
        return layout.ingest_dir(city) / "images"
    assert cp.path is not None  # CityParams requires it for every other source
    return expand(cp.path, layout.root)


def safe_path(root: Path, rel: str) -> tuple[Path | None, str]:
    """``(absolute path, "")`` if ``rel`` stays inside ``root`` after resolving links, else ``(None, why)``."""
    if not rel or os.path.isabs(rel):
        return None, f"{rel!r} is not a relative path"
    parts = Path(rel).parts
    if ".." in parts:
        return None, f"{rel!r} climbs out of the source root with '..'"
    root_r = root.resolve()
    p = root / rel
    try:
        target = p.resolve()
    except (OSError, RuntimeError) as err:  # symlink loops
        return None, f"{rel!r} cannot be resolved: {err}"
    if not target.is_relative_to(root_r):
        return None, f"{rel!r} resolves to {target}, outside the source root {root_r}"
    return p, ""


# ------------------------------------------------------------------------------------- helpers
def _empty_candidates() -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(
        {
            c: pd.Series(dtype="float64" if c in ("lat", "lon", "heading") else "object")
            for c in CANDIDATE_COLUMNS
        }
    )


def _read_csv(path: Path) -> pd.DataFrame:
    import pandas as pd

    try:
        return pd.read_csv(path, dtype=str, keep_default_na=True)
    except (OSError, ValueError, pd.errors.ParserError) as err:
        raise DataError(f"{path} is not a readable CSV: {err}") from None


def _numeric(df: pd.DataFrame, col: str, lst: Listing, src: Path) -> pd.Series:
    """Parse a numeric CSV column; absent column -> NaN (counted), unparsable cells -> NaN (counted)."""
    import pandas as pd

    if col not in df.columns:
        return pd.Series(float("nan"), index=df.index, dtype="float64")
    raw = df[col]
    num = pd.to_numeric(raw, errors="coerce").astype("float64")
    bad = int((num.isna() & raw.notna()).sum())
    if bad:
        lst.issue(
            "csv_bad_values",
            f"{src}: {bad} value(s) in column {col!r} are not numbers (kept as unknown)",
            bad,
        )
    return num


def _meta_columns(df: pd.DataFrame, lst: Listing, src: Path, want: tuple[str, ...]) -> pd.DataFrame:
    missing = [c for c in want if c not in df.columns]
    if missing:
        lst.issue(
            "csv_missing_columns",
            f"{src}: missing column(s) {missing}; those values are unknown",
            len(missing),
        )
    import pandas as pd

    out = pd.DataFrame(index=df.index)
    for c in ("lat", "lon", "heading"):
        out[c] = _numeric(df, c, lst, src)
    if "captured_at" in df.columns:
        out["captured_at"] = df["captured_at"].astype(object).where(df["captured_at"].notna(), None)
    else:
        out["captured_at"] = None
    return out


def _apply_filter(df: pd.DataFrame, flt: dict[str, str], city: str, src: Path) -> pd.DataFrame:
    for col, val in flt.items():
        if col not in df.columns:
            raise ConfigError(
                f"cities.{city}.filter names column {col!r}, which {src} does not have "
                f"(columns: {', '.join(df.columns)})"
            )
        df = df[df[col].astype(str) == str(val)]
    return df


def _walk_images(root: Path, lst: Listing) -> list[str]:
    """Relative posix paths of image-named files under root; symlinked folders are not followed."""
    rels: list[str] = []
    ignored = 0
    for d, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = sorted(x for x in dirs if not x.startswith("."))
        for name in sorted(files):
            if name.startswith("."):
                continue
            rel = (Path(d) / name).relative_to(root).as_posix()
            if Path(name).suffix.lower() in IMAGE_EXTS:
                rels.append(rel)
            elif name not in META_FILES:
                ignored += 1
    if ignored:
        lst.issue("ignored_files", f"{root}: {ignored} file(s) without an image extension ignored", ignored)
    return rels


def _source_ids(rels: list[str]) -> list[str]:
    """Source id = path without extension (a stem at top level); the full path where stems collide."""
    stems = [str(Path(r).with_suffix("")) for r in rels]
    counts: dict[str, int] = {}
    for s in stems:
        counts[s] = counts.get(s, 0) + 1
    return [s if counts[s] == 1 else r for s, r in zip(stems, rels, strict=True)]


def _limit(cands: pd.DataFrame, limit: int) -> pd.DataFrame:
    cands = cands.sort_values("source_id", kind="stable").reset_index(drop=True)
    return cands.head(limit).reset_index(drop=True) if limit else cands


# ------------------------------------------------------------------------------------ sources
def _list_folder(root: Path, city: str, params: Params) -> Listing:
    import pandas as pd

    if not root.is_dir():
        raise ConfigError(f"cities.{city}.path: {root} is not a folder")
    lst = Listing(_empty_candidates())
    rels = _walk_images(root, lst)
    cands = pd.DataFrame({"source_id": _source_ids(rels), "path": rels})
    meta_file = next((root / m for m in META_FILES if (root / m).is_file()), None)
    if meta_file is not None:
        meta = _read_csv(meta_file)
        idcol = next((c for c in ("id", "image", "file", "path") if c in meta.columns), None)
        if idcol is None:
            lst.issue(
                "csv_missing_columns",
                f"{meta_file}: no id column (one of id, image, file, path); its metadata is ignored",
            )
        else:
            vals = _meta_columns(meta, lst, meta_file, META_COLUMNS)
            vals["key"] = (
                meta[idcol]
                .astype(str)
                .map(lambda s: str(Path(s).with_suffix("")) if Path(s).suffix.lower() in IMAGE_EXTS else s)
            )
            dup = int(vals["key"].duplicated().sum())
            if dup:
                lst.issue(
                    "csv_duplicate_rows", f"{meta_file}: {dup} duplicate id row(s); the first is used", dup
                )
            vals = vals.drop_duplicates("key")
            unmatched = int((~vals["key"].isin(set(cands["source_id"]))).sum())
            if unmatched:
                lst.issue(
                    "csv_rows_without_image", f"{meta_file}: {unmatched} row(s) name no image file", unmatched
                )
            cands = cands.merge(vals, how="left", left_on="source_id", right_on="key").drop(columns="key")
    for c in ("lat", "lon", "heading"):
        if c not in cands:
            cands[c] = float("nan")
    if "captured_at" not in cands:
        cands["captured_at"] = None
    cands["captured_at"] = cands["captured_at"].astype(object).where(cands["captured_at"].notna(), None)
    lst.candidates = cands[CANDIDATE_COLUMNS]
    return lst


def _list_placepulse1(root: Path, city: str, params: Params) -> Listing:
    import pandas as pd

    cp = params.city(city)
    src = root / "scores.csv"
    if not src.is_file():
        raise ConfigError(f"cities.{city}.path: {root} has no scores.csv (Place Pulse 1.0 layout)")
    df = _read_csv(src)
    missing = [c for c in ("image", "qs_safer") if c not in df.columns]
    if missing:
        raise DataError(
            f"{src} lacks required column(s) {missing} (needs image, qs_safer; optional city, lat, lon)"
        )
    lst = Listing(_empty_candidates())
    df = _apply_filter(df, dict(cp.filter), city, src)
    dup = int(df["image"].duplicated().sum())
    if dup:
        lst.issue("csv_duplicate_rows", f"{src}: {dup} duplicate image row(s); the first is used", dup)
        df = df.drop_duplicates("image")
    meta = _meta_columns(df, lst, src, ("lat", "lon"))
    # scores.csv names bare file names that live in images/; a name with a folder is taken as given.
    rels = [
        r if "/" in r or not (root / "images" / r).exists() else f"images/{r}"
        for r in df["image"].astype(str)
    ]
    cands = pd.DataFrame(
        {
            "source_id": [Path(r).stem for r in df["image"].astype(str)],
            "path": rels,
            "lat": meta["lat"].to_numpy(),
            "lon": meta["lon"].to_numpy(),
            "heading": float("nan"),
            "captured_at": None,
        }
    )
    score = _numeric(df, "qs_safer", lst, src).to_numpy()
    lst.candidates = cands
    lst.scores = pd.DataFrame({"source_id": cands["source_id"], "score": score}).dropna()
    return lst


def _list_placepulse2(root: Path, city: str, params: Params) -> Listing:
    import pandas as pd

    img_root = root / "images" if (root / "images").is_dir() else root
    lst = Listing(_empty_candidates())
    rels = [(img_root / r).relative_to(root).as_posix() for r in _walk_images(img_root, lst)]
    cands = pd.DataFrame({"source_id": [Path(r).stem for r in rels], "path": rels})
    cands["lat"] = float("nan")
    cands["lon"] = float("nan")
    cands["heading"] = float("nan")
    cands["captured_at"] = None
    lst.candidates = cands[CANDIDATE_COLUMNS]
    src = root / "votes.csv"
    if not src.is_file():
        raise ConfigError(f"cities.{city}.path: {root} has no votes.csv (Place Pulse 2.0 layout)")
    v = _read_csv(src)
    missing = [c for c in ("left_id", "right_id", "winner") if c not in v.columns]
    if missing:
        raise DataError(f"{src} lacks required column(s) {missing} (needs left_id, right_id, winner)")
    choice = v["winner"].str.strip().str.lower().map({"left": "a", "right": "b", "equal": "equal"})
    lst.raw_votes = pd.DataFrame(
        {
            "image_a": v["left_id"].astype(str),
            "image_b": v["right_id"].astype(str),
            "choice": choice.astype(object).where(choice.notna(), None),
            "rater_id": None,
            "scenario": "general",
        }
    )
    return lst


def _list_synthetic(out_dir: Path, city: str, params: Params) -> Listing:
    import shutil

    import pandas as pd

    from perceptops.data.simulate import synthesize

    cp = params.city(city)
    assert cp.synthetic is not None
    if out_dir.exists():
        shutil.rmtree(out_dir)  # a generated out: rebuilt from the seed, never edited in place
    out_dir.mkdir(parents=True)
    sim = synthesize(cp.synthetic, list(params.scenarios), out_dir)
    img = sim.images

    def num(col: str):
        return pd.to_numeric(img[col], errors="coerce") if col in img else float("nan")

    cands = pd.DataFrame(
        {
            "source_id": img["source_id"].astype(str),
            "path": img["file"].astype(str).map(lambda s: Path(s).as_posix()),
            "lat": num("lat"),
            "lon": num("lon"),
            "heading": num("heading"),
            "captured_at": img["captured_at"].astype(object).where(img["captured_at"].notna(), None)
            if "captured_at" in img
            else None,
        }
    )
    return Listing(cands[CANDIDATE_COLUMNS], raw_votes=sim.votes.copy())


def list_source(params: Params, layout: Layout, city: str) -> Listing:
    """Candidates of a city after ``filter`` and ``limit`` (the first N by sorted source id)."""
    cp = params.city(city)
    root = source_root(params, layout, city)
    if cp.source != "synthetic" and not root.is_dir():
        raise ConfigError(f"cities.{city}.path: {root} does not exist or is not a folder")
    lister: dict[str, Any] = {
        "synthetic": _list_synthetic,
        "folder": _list_folder,
        "placepulse1": _list_placepulse1,
        "placepulse2": _list_placepulse2,
    }
    if cp.filter and cp.source != "placepulse1":
        raise ConfigError(
            f"cities.{city}.filter applies to placepulse1 scores.csv only (source is {cp.source!r})"
        )
    lst = lister[cp.source](root, city, params)
    lst.candidates = _limit(lst.candidates, cp.limit)
    if lst.scores is not None:
        lst.scores = lst.scores[lst.scores["source_id"].isin(set(lst.candidates["source_id"]))].reset_index(
            drop=True
        )
    return lst
