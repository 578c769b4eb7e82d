"""Stage ``embed@city``: every valid image and every description through the frozen encoders, via the
embedding cache, into ``data/<c>/embed/`` (image.parquet, text-<target>.parquet, encoders.json)."""

from __future__ import annotations

from typing import Any

from perceptops.errors import DataError


def _descriptions(layout: Any, city: str, target: str):
    import pandas as pd

    p = layout.descriptions(city, target)
    if not p.is_file():
        raise DataError(
            f"{p} not found: run `dvc repro describe@{city}` first (targets: general + every group-scenario)"
        )
    df = pd.read_parquet(p)
    for col in ("image_id", "text"):
        if col not in df.columns:
            raise DataError(f"{p}: column {col!r} is missing; re-run `dvc repro describe@{city} --force`")
    return df


def embed_city(params: Any, layout: Any, city: str) -> dict[str, Any]:
    """Encode ``city``'s images and descriptions (cache first). Returns forward/hit counts per branch."""
    from perceptops.data.images import load_rgb
    from perceptops.data.manifest import read_valid
    from perceptops.data.sources import source_root
    from perceptops.encode import get_image_encoder, get_text_encoder
    from perceptops.encode.cache import CachedEncoder, EmbeddingCache
    from perceptops.encode.store import write_encoders, write_image_embeddings, write_text_embeddings
    from perceptops.progress import make_progress
    from perceptops.utils import sha256_text

    params.city(city)
    valid = read_valid(layout, city)
    ids = [str(x) for x in valid["image_id"]]
    path_of = dict(zip(ids, (str(p) for p in valid["path"]), strict=True))
    root = source_root(params, layout, city)
    targets = ["general", *params.target_names()]
    texts = {t: _descriptions(layout, city, t) for t in targets}  # fail before any work if one is missing

    img_enc, txt_enc = get_image_encoder(params), get_text_encoder(params)
    cache = EmbeddingCache(layout.cache_dir(params.project.cache_dir) / "embed")
    ci = CachedEncoder(img_enc, cache, params.encode.image.batch_size)
    ct = CachedEncoder(txt_enc, cache, params.encode.text.batch_size)

    def load_images(keys: list[str]) -> list:
        out = []
        for k in keys:
            try:
                out.append(load_rgb(root / path_of[k], params.validate_params.max_pixels))
            except DataError as err:
                raise DataError(
                    f"{root / path_of[k]}: passed validation but cannot be read now ({err}); re-run "
                    f"`dvc repro validate@{city}`"
                ) from None
        return out

    skipped: dict[str, int] = {}
    try:
        with make_progress(encoded="0", cached="0") as bar:
            task = bar.add_task(
                f"embed {city} images [{img_enc.kind}]", total=len(set(ids)), encoded="0", cached="0"
            )

            def tick(n: int, enc: CachedEncoder = ci) -> None:
                bar.update(task, advance=n, encoded=str(enc.forwards), cached=str(enc.hits))

            X = ci.encode_keyed(ids, load_images, on_batch=tick)
            write_image_embeddings(layout, city, ids, X)
            for t in targets:
                df = texts[t]
                ok = df["text"].notna() & (df["text"].astype(str).str.strip() != "")
                skipped[t] = int((~ok).sum())  # a failed description has no text: counted, not encoded
                df = df[ok]
                t_ids = [str(x) for x in df["image_id"]]
                t_texts = [str(x) for x in df["text"]]
                shas = [sha256_text(x) for x in t_texts]
                by_sha = dict(zip(shas, t_texts, strict=True))
                task = bar.add_task(
                    f"embed {city} {t} [{txt_enc.kind}]", total=len(set(shas)), encoded="0", cached="0"
                )
                T = ct.encode_keyed(
                    shas,
                    lambda keys, _m=by_sha: [_m[k] for k in keys],
                    on_batch=lambda n, _t=task: bar.update(
                        _t, advance=n, encoded=str(ct.forwards), cached=str(ct.hits)
                    ),
                )
                write_text_embeddings(layout, city, t, t_ids, shas, T)
    finally:
        cache.close()
    write_encoders(layout, city, img_enc, txt_enc)
    return {
        "city": city,
        "images": len(ids),
        "image_forwards": ci.forwards,
        "image_cache_hits": ci.hits,
        "text_forwards": ct.forwards,
        "text_cache_hits": ct.hits,
        "skipped_descriptions": skipped,
        "image_encoder": img_enc.id,
        "text_encoder": txt_enc.id,
    }


def run_embed_stage(city: str) -> None:
    """Entry of ``stages/embed.py``."""
    from perceptops.config import load_params
    from perceptops.paths import Layout

    s = embed_city(load_params(), Layout(), city)
    skipped = sum(s["skipped_descriptions"].values())
    print(
        f"embed@{city}: {s['images']} images ({s['image_forwards']} encoded, {s['image_cache_hits']} cached) "
        f"with {s['image_encoder']}; texts {s['text_forwards']} encoded, {s['text_cache_hits']} cached "
        f"with {s['text_encoder']}; {skipped} empty descriptions skipped"
    )


__all__ = ["embed_city", "run_embed_stage"]
