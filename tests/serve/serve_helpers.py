"""Helpers shared by the serving tests: test images and a real `bentoml serve` on loopback."""

from __future__ import annotations

import contextlib
import io
import os
import socket
import struct
import subprocess
import time
import zlib
from pathlib import Path
from typing import Any

from PIL import Image

from support import VENV_BIN, env_for_project


def png_bytes(w: int = 32, h: int = 24, mode: str = "RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, (w, h), 128).save(buf, format="PNG")
    return buf.getvalue()


def bomb_png(w: int, h: int) -> bytes:
    """A tiny PNG whose header declares w x h pixels (the data is a few hundred bytes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", w, h, 1, 0, 0, 0, 0)  # 1-bit greyscale
    idat = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A real server process on 127.0.0.1 and a free port; readiness polled; stopped by its own pid."""

    def __init__(self, cmd: list[str], cwd: Path, env: dict[str, str], log: Path, port: int):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log = log
        self._out = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=self._out, stderr=subprocess.STDOUT, start_new_session=True
        )

    @classmethod
    def bentoml(cls, target: str, cwd: Path, env: dict[str, str], log: Path) -> Server:
        port = free_port()
        cmd = [str(VENV_BIN / "bentoml"), "serve", target, "--host", "127.0.0.1", "--port", str(port)]
        return cls(cmd, cwd, env, log, port)

    @classmethod
    def perceptops(cls, bento: str, cwd: Path, env: dict[str, str], log: Path) -> Server:
        port = free_port()
        return cls(
            [str(VENV_BIN / "perceptops"), "serve", "--bento", bento, "--port", str(port)],
            cwd,
            env,
            log,
            port,
        )

    def wait_ready(self, timeout: float = 120) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"bentoml serve exited ({self.proc.returncode}):\n{self.tail()}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise TimeoutError(f"bentoml serve not ready after {timeout}s:\n{self.tail()}")

    def healthy(self) -> bool:
        import httpx

        return httpx.get(f"{self.url}/readyz", timeout=5).status_code == 200

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""

    def stop(self) -> None:
        import signal

        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # the group of the process we started, nothing else
            try:
                self.proc.wait(timeout=5)  # graceful shutdown can take long; the group is ours
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self._out.close()


def serve_env(root: Path, packaged: dict[str, Any], **extra: str) -> dict[str, str]:
    # MLflow pointed nowhere: the bento must serve without any registry.
    return env_for_project(
        root, BENTOML_HOME=packaged["bentoml_home"], MLFLOW_TRACKING_URI="http://127.0.0.1:9", **extra
    )


# Two groups x two scenarios keep the bento small (5 models); params stay data, not code.
SMALL = {
    "groups!": {
        "women": {"persona": "a woman walking alone", "filter": {"gender": "female"}},
        "elderly": {"persona": "an elderly person aged 65 or over", "filter": {"age": {"min": 65}}},
    },
    "scenarios!": {
        "traffic": {"risk": "traffic accidents - being hit by a car while crossing"},
        "crime": {"risk": "crime - being robbed or harassed in the street"},
    },
}
LINEAGE = {
    "git.commit": "0123456789abcdef",
    "lineage.descriptions.md5": "d41d8cd98f00b204e9800998ecf8427e",
    "describer.prompt_hash": "feedbeef",
}


def save_standin(params: Any, target: str, dest: Path, seed: int) -> Path:
    import torch

    from perceptops.encode import get_image_encoder, get_text_encoder
    from perceptops.model.io import save_model
    from perceptops.model.net import build_from_config, net_config

    ie, te = get_image_encoder(params), get_text_encoder(params)
    config = net_config(params.net, {"id": ie.id, "dim": ie.dim}, {"id": te.id, "dim": te.dim})
    torch.manual_seed(seed)
    net = build_from_config(config)
    with torch.no_grad():  # spread the outputs so scores differ across images and models
        for p in net.parameters():
            p.mul_(3.0)
    save_model(dest / target, net, config)
    return dest / target


def register_standins(
    root: Path, targets: list[str] | None = None, alias: str = "champion"
) -> dict[str, str]:
    """Log one stand-in per target into the project's MLflow registry; returns {name: version}."""
    import mlflow.pytorch

    from perceptops.config import load_params
    from perceptops.registry import model_name
    from perceptops.registry.register import scorer_module
    from perceptops.registry.tracking import connect

    params = load_params(root / "params.yaml")
    reg = connect(params, root)
    out = {}
    for i, target in enumerate(targets or ["general", *params.target_names()]):
        mdir = save_standin(params, target, root / "standins", seed=i)
        name = model_name(target)
        with mlflow.start_run(experiment_id=reg.experiment_id()) as run:
            mlflow.log_artifacts(str(mdir), artifact_path="safety_model")
            from perceptops.model.io import load_model

            m = load_model(mdir)
            info = mlflow.pytorch.log_model(
                scorer_module(m.net, m.config["encoders"]["image"]["dim"]),
                name="model",
                pip_requirements=["torch==2.13.0"],
                serialization_format="pickle",
                extra_files=[str(mdir / "model.pt"), str(mdir / "config.json")],
            )
        with contextlib.suppress(Exception):
            reg.client.create_registered_model(name)
        tags = {**LINEAGE, "target": target, "encoder.image": m.config["encoders"]["image"]["id"]}
        mv = reg.client.create_model_version(name, info.model_uri, run_id=run.info.run_id, tags=tags)
        reg.client.set_registered_model_alias(name, alias, str(mv.version))
        out[name] = str(mv.version)
    return out
