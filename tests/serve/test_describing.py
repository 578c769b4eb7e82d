"""Descriptions the client did not send: the configured describer writes them, or a 422 names them."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from PIL import Image

from perceptops.config import load_params, parse_params
from perceptops.serve.describing import complete_descriptions
from perceptops.serve.inputs import RequestError


def service_with(params, monkeypatch, tmp_path):
    """What the service does with a request's descriptions, without BentoML (plain functions)."""
    monkeypatch.setenv("PERCEPTOPS_CACHE", str(tmp_path / "cache"))
    targets = params.target_names()
    return SimpleNamespace(
        targets=targets,
        complete_descriptions=lambda images, texts: complete_descriptions(params, targets, images, texts),
    )


def params_with(**sections):
    data = load_params().model_dump(mode="json", by_alias=True)
    for key, value in sections.items():
        data[key] = {**data[key], **value}
    return parse_params(data)


def street() -> Image.Image:
    img = Image.new("RGB", (160, 120), (120, 160, 220))
    img.paste((90, 90, 90), (0, 70, 160, 120))
    return img


def test_describer_none_names_missing_descriptions(monkeypatch, tmp_path):
    svc = service_with(params_with(serve={"describer": "none"}), monkeypatch, tmp_path)
    with pytest.raises(RequestError) as err:
        svc.complete_descriptions([street()], [{"general": "a calm street"}])
    assert err.value.status == 422
    msg = err.value.message
    assert "general" not in msg.split("missing descriptions for: ")[1].split(";")[0].split(", ")
    assert "women-crime" in msg and "serve.describer" in msg
    # complete descriptions need no describer
    texts = [{t: "a calm street" for t in ["general", *svc.targets]}]
    assert svc.complete_descriptions([street()], texts) == [[]]


def test_unavailable_describer_backend_is_422(monkeypatch, tmp_path):
    monkeypatch.delenv("PERCEPTOPS_LLM_API_KEY", raising=False)
    svc = service_with(params_with(describe={"backend": "openai"}), monkeypatch, tmp_path)
    with pytest.raises(RequestError) as err:
        svc.complete_descriptions([street()], [{}])
    assert err.value.status == 422
    assert "missing descriptions for: general, women-traffic" in err.value.message
    assert "PERCEPTOPS_LLM_API_KEY" in err.value.message


def test_scene_describer_writes_the_missing_ones(monkeypatch, tmp_path):
    svc = service_with(load_params(), monkeypatch, tmp_path)
    texts = [{"general": "given by the client"}, {}]
    missing = svc.complete_descriptions([street(), street()], texts)
    assert missing[0] == svc.targets and missing[1] == ["general", *svc.targets]
    assert texts[0]["general"] == "given by the client"
    for tx in texts:
        assert set(tx) == {"general", *svc.targets}
        assert all(isinstance(v, str) and len(v) > 40 for k, v in tx.items() if v != "given by the client")
    assert texts[1]["women-crime"] != texts[1]["men-traffic"]  # persona/scenario shape the text
