"""Nabız: tags Turkish customer feedback with sentiment, topic and urgency, and prioritizes it."""

__version__ = "0.1.0"
