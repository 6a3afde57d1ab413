"""The triage queue: stored feedback with its prediction, priority, status and corrections.

``models`` (tables), ``db`` (engines, sessions, migrations), ``repository`` (storage functions),
``schemas`` (API models), ``deps`` (FastAPI dependencies and the ``app.state`` contract) and
``export`` (corrections as training data). The routes are in :mod:`nabiz.serving.routes.queue`.
"""
