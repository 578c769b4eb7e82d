"""A real MLflow tracking server on a PostgreSQL backend store (loopback, free ports), for server-mode tests.

PostgreSQL refuses to run as root: as root the cluster is created and run as the `postgres` user in a
folder under /tmp that user can reach. Skipped, with the reason, only when no PostgreSQL binaries can
be found or installed (scripts/sysdeps.sh installs them where missing and permitted).
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from support import REPO_ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg_bin() -> Path | None:
    cands = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))  # Debian: the full set of binaries
    if cands:
        return Path(cands[-1]).parent
    found = shutil.which("pg_ctl")
    return Path(found).parent if found and (Path(found).parent / "initdb").exists() else None


def _as_pg(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kw)


def _wait_http(url: str, proc: subprocess.Popen, log: Path, timeout: float = 180) -> None:
    import requests

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"mlflow server exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"mlflow server not ready after {timeout}s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def mlflow_server() -> Iterator[str]:
    """URL of a running `mlflow server` backed by a fresh PostgreSQL database; stopped at session end."""
    bindir = pg_bin()
    if bindir is None:
        subprocess.run(["bash", str(REPO_ROOT / "scripts/sysdeps.sh")], capture_output=True, timeout=600)
        bindir = pg_bin()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed and could not be installed (run `make sysdeps` as root)")
    base = Path(tempfile.mkdtemp(prefix="perceptops-pg-"))
    os.chmod(base, 0o755)
    data = base / "data"
    data.mkdir()
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
    pg_port, port = free_port(), free_port()
    server = None
    started_pg = False
    try:
        r = _as_pg([str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"])
        assert r.returncode == 0, r.stderr
        r = _as_pg(
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(data / "server.log"),
                "-w",
                "-t",
                "60",
                "-o",
                f"-h 127.0.0.1 -p {pg_port} -k {data}",
                "start",
            ]
        )
        assert r.returncode == 0, r.stdout + r.stderr
        started_pg = True
        r = _as_pg(
            [str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(pg_port), "-U", "postgres", "mlflow"]
        )
        assert r.returncode == 0, r.stderr
        log = base / "mlflow.log"
        env = dict(os.environ, MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="true")
        env.pop("MLFLOW_TRACKING_URI", None)
        with open(log, "w") as log_f:  # the child keeps its own descriptor
            server = subprocess.Popen(
                [
                    str(Path(sys.executable).parent / "mlflow"),
                    "server",
                    "--backend-store-uri",
                    f"postgresql+psycopg2://postgres@127.0.0.1:{pg_port}/mlflow",  # SQLAlchemy 2.1 defaults to psycopg 3
                    "--artifacts-destination",
                    str(base / "artifacts"),
                    "--serve-artifacts",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--workers",
                    "1",
                ],
                stdout=log_f,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=base,
                start_new_session=True,
            )
        url = f"http://127.0.0.1:{port}"
        _wait_http(f"{url}/health", server, log)
        yield url
    finally:
        if server is not None and server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
        if started_pg:
            _as_pg([str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"])
        shutil.rmtree(base, ignore_errors=True)
