"""``perceptops registry list``: models, versions, aliases and key metrics (two registry queries)."""

from __future__ import annotations

from typing import Any

from perceptops.registry import PREFIX


def list_models(reg: Any) -> list[dict[str, Any]]:
    # Version search results carry no aliases: take them from the registered models (alias -> version).
    aliases: dict[tuple[str, str], list[str]] = {}
    for m in reg.client.search_registered_models(f"name LIKE '{PREFIX}%'"):
        for alias, ver in (m.aliases or {}).items():
            aliases.setdefault((m.name, str(ver)), []).append(alias)
    versions = reg.client.search_model_versions(f"name LIKE '{PREFIX}%'")
    models: dict[str, list[dict[str, Any]]] = {}
    for v in versions:
        t = v.tags or {}
        models.setdefault(v.name, []).append(
            {
                "version": str(v.version),
                "aliases": sorted(aliases.get((v.name, str(v.version)), [])),
                "accuracy": float(t["eval.accuracy"]) if "eval.accuracy" in t else None,
                "f1": float(t["eval.f1"]) if "eval.f1" in t else None,
                "train_city": t.get("train_city"),
                "descriptions_md5": t.get("lineage.descriptions.md5"),
                "git_commit": t.get("git.commit"),
                "run_id": v.run_id,
                "created": v.creation_timestamp,
            }
        )
    return [
        {"name": n, "versions": sorted(vs, key=lambda x: int(x["version"]))}
        for n, vs in sorted(models.items())
    ]


def render(models: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title="registered models")
    # no_wrap: names and aliases are what people copy into promote/audit; never cut or fold them
    for c in ("model", "ver", "aliases", "acc", "f1", "city", "descr md5", "git"):
        t.add_column(c, no_wrap=True)
    for m in models:
        for v in m["versions"]:
            t.add_row(
                m["name"],
                v["version"],
                ", ".join(v["aliases"]) or "-",
                "-" if v["accuracy"] is None else f"{v['accuracy']:.3f}",
                "-" if v["f1"] is None else f"{v['f1']:.3f}",
                v["train_city"] or "-",
                (v["descriptions_md5"] or "-")[:8],
                (v["git_commit"] or "-")[:7],
            )
    con = Console()
    if not con.is_terminal:  # piped/logged: rich would squeeze to 80 columns and elide the numbers
        con = Console(width=160)
    con.print(t if models else "no registered models (run the register stage: `dvc repro`)")
