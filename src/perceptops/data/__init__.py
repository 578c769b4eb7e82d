"""SVI sources, manifests, validation, surveys and Q-scores."""
