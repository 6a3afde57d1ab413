"""Alembic migrations of the triage queue (a package, so that wheels ship them)."""
