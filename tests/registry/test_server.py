"""Server mode: the same register / promote / refuse / force / rollback / list / audit against
`mlflow server` on PostgreSQL (events readable from the registry's tags by any client)."""

from __future__ import annotations

import json

import pytest
from registry_helpers import load
from server_fixture import mlflow_server  # noqa: F401  (session fixture)

from perceptops.registry import events as ev
from perceptops.registry.promotion import PromotionRefused, promote, rollback
from perceptops.registry.tracking import connect
from support import perceptops

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_lifecycle_against_postgres_backed_server(project, mlflow_server, monkeypatch):  # noqa: F811
    import fake_upstream
    import mlflow

    from perceptops.registry.audit import audit_report, export
    from perceptops.registry.listing import list_models
    from perceptops.registry.register import register_all

    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    monkeypatch.setenv("PERCEPTOPS_USER", "bob")
    params = load(project)
    out = register_all(params, project)
    assert out["tracking_uri"] == mlflow_server
    assert all(set(m["aliases"]) == {"candidate", "champion"} for m in out["models"])
    assert not (project / "mlflow/artifacts").exists()  # the server owns artifact storage

    # a new general model, registered without auto-promotion; then made to look bad
    fake_upstream.write_model(project / "models/general", seed=99, pseudo=False)
    manual = params.model_copy(
        update={"registry": params.registry.model_copy(update={"auto_promote": False})}
    )
    out2 = register_all(manual, project)
    gen = [m for m in out2["models"] if m["name"] == "safety-general"][0]
    assert gen["version"] == "2" and gen["aliases"] == ["candidate"]
    assert [m["version"] for m in out2["models"][1:]] == ["1", "1"]  # identical fine-tunes reused

    reg = connect(params, project)
    reg.client.set_model_version_tag("safety-general", "2", "eval.accuracy", "0.2")
    with pytest.raises(PromotionRefused, match=r"accuracy 0.2000 < min_accuracy 0.5000"):
        promote(reg, "safety-general", "2")
    promote(reg, "safety-general", "2", force=True, reason="server drill")
    assert str(reg.client.get_model_version_by_alias("safety-general", "champion").version) == "2"
    rollback(reg, "safety-general")
    assert str(reg.client.get_model_version_by_alias("safety-general", "champion").version) == "1"

    # the shared record: events come back from the server's tags, identical to this client's log
    tagged = ev.model_events(reg, "safety-general")
    assert [(e["action"], e["user"]) for e in tagged] == [
        ("auto-promote", "bob"),
        ("refused", "bob"),
        ("force-promote", "bob"),
        ("rollback", "bob"),
    ]
    assert tagged == ev.read_log(reg.events_log(), "safety-general")

    models = {m["name"]: m for m in list_models(reg)}
    assert [v["aliases"] for v in models["safety-general"]["versions"]] == [["champion"], ["candidate"]]
    rep = audit_report(reg, "safety-women-crime", "1")
    assert rep["inputs"]["descriptions"]["source"] == "dvc.lock"
    export(reg, rep, project / "export")
    assert (project / "export/descriptions/demo/women-crime.parquet").is_file()
    pyf = mlflow.pyfunc.load_model("models:/safety-general@champion")
    assert pyf.predict(__import__("numpy").zeros((2, 14), "float32")).shape == (2, 1)

    r = perceptops(project, "registry", "list", "--json", MLFLOW_TRACKING_URI=mlflow_server)
    assert r.returncode == 0, r.stderr
    assert {m["name"] for m in json.loads(r.stdout)["models"]} == set(models)
