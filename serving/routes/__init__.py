"""The REST app's routers, one per concern."""
