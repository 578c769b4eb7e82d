"""Descriptions for images the client sent without them: the configured describer, as the pipeline uses it.

The built-in ``scene`` describer reads a scene parse (``perceptops.scene.parse_images``); chat/transformers
backends read the image itself (written to a temp file for them). Answers go through the same
content-addressed response cache as the describe stage (under the service's cache folder).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from perceptops.errors import BackendError, PerceptopsError
from perceptops.serve.inputs import GENERAL, RequestError


def describe_images(params: Any, images: list[Any], missing: list[list[str]]) -> list[dict[str, str]]:
    """``missing[i]`` names the targets image ``i`` needs; returns ``{target: description}`` per image."""
    from perceptops.describe import get_describer
    from perceptops.describe.base import Job
    from perceptops.describe.cache import ResponseCache, cache_key
    from perceptops.describe.prompts import build_prompt
    from perceptops.paths import Layout, project_root
    from perceptops.utils import sha256_bytes

    out: list[dict[str, str]] = [{} for _ in images]
    todo = [i for i, m in enumerate(missing) if m]
    if not todo:
        return out
    describer = get_describer(params)
    describer.check()
    scenes: dict[int, dict[str, float]] = {}
    if describer.needs_scene:
        from perceptops.scene import parse_images

        df = parse_images(params, [images[i] for i in todo])
        scenes = {
            i: {k: v for k, v in row.items()} for i, row in zip(todo, df.to_dict("records"), strict=True)
        }
    prompts = {}
    errors: list[str] = []
    with tempfile.TemporaryDirectory(prefix="perceptops-describe-") as tmp:
        jobs = []
        for i in todo:
            image_id = sha256_bytes(images[i].tobytes() + repr(images[i].size).encode())
            path = None
            if describer.needs_images:
                path = Path(tmp) / f"{i}.png"
                images[i].save(path)
            for target in missing[i]:
                if target not in prompts:
                    prompts[target] = build_prompt(params, target)
                p = prompts[target]
                key = cache_key(image_id, p.hash, describer.backend, describer.model, describer.gen_params())
                jobs.append((i, Job(key, image_id, target, p, image_path=path, scene=scenes.get(i))))
        index = {id(job): i for i, job in jobs}  # by object: identical images in one request share a key

        def on_result(job: Any, outcome: Any) -> None:
            if outcome.parsed and outcome.parsed.get("description"):
                out[index[id(job)]][job.target] = str(outcome.parsed["description"])
            else:
                errors.append(f"{job.target}: {outcome.error or 'no description'}")

        cache_file = Layout(project_root()).cache_dir(params.project.cache_dir) / "describe" / "serve.sqlite"
        with ResponseCache(cache_file) as cache:
            describer.run([j for _, j in jobs], cache, on_result)
    if errors:
        raise BackendError(f"describer {describer.backend!r} failed: {'; '.join(errors[:3])}")
    return out


def complete_descriptions(
    params: Any, targets: list[str], images: list[Any], texts: list[dict[str, str]]
) -> list[list[str]]:
    """Fill the descriptions a client left out (in place); returns the targets written per image.

    With ``serve.describer: none``, or a describer that cannot run (missing key, model, dependency),
    the answer is a 422 that names the missing descriptions.
    """
    needed = [GENERAL, *targets]
    missing = [[t for t in needed if t not in tx] for tx in texts]
    if not any(missing):
        return missing
    names = ", ".join(sorted({t for m in missing for t in m}, key=needed.index))
    if params.serve.describer == "none":
        raise RequestError(
            422,
            f"missing descriptions for: {names}; send them in 'descriptions' "
            "(no describer is configured: serve.describer is 'none')",
        )
    try:
        written = describe_images(params, images, missing)
    except PerceptopsError as err:
        raise RequestError(
            422,
            f"missing descriptions for: {names}; send them in 'descriptions' "
            f"(the configured describer is unavailable: {err})",
        ) from None
    for tx, w in zip(texts, written, strict=True):
        tx.update(w)
    return missing
