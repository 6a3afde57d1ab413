"""Serving: the REST app, the batch pipeline and prioritization."""
