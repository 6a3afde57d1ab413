"""Real-time alerts: rules (``data/alert_rules.yaml``), their evaluation over the triage queue, the
stored alerts and their delivery to webhooks."""
