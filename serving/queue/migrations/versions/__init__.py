"""Revisions of the triage queue schema, oldest first."""
