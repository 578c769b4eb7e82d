"""MLflow tracking, lineage tags, promotion gates, audit, rollback."""
