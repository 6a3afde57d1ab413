"""The console's pages and the API docs, served from files inside the package (no CDN).

``/ui`` is the console (a single page, ``static/index.html``, that calls the REST API; its
``<meta name="nabiz-timezone">`` is filled with the priority policy's timezone, so that a day
picked in a date filter is the policy's day, whatever the browser's zone);
``/ui/static/...`` its scripts and styles; ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc) load
their vendored bundles from ``/ui/static/vendor`` (versions and licences in its README.txt), so
both work on a machine without internet.
"""

from __future__ import annotations

from html import escape
from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(str(files("nabiz.serving.console") / "static"))
VENDOR = "/ui/static/vendor"
ZONE_META = '<meta name="nabiz-timezone" content="">'


def console_page(timezone: str | None) -> str:
    """``index.html`` with the policy's IANA timezone in its ``nabiz-timezone`` meta (left empty
    without a policy: the page then falls back to the browser's zone for date filters)."""
    page = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    zone = escape(timezone or "", quote=True)
    return page.replace(ZONE_META, f'<meta name="nabiz-timezone" content="{zone}">', 1)


def install_console(app: FastAPI, docs: bool = True) -> None:
    """Add ``/ui``, ``/ui/static`` and, with ``docs`` (the ``public_docs`` setting), ``/docs``
    and ``/redoc`` to ``app`` (built with ``docs_url=None, redoc_url=None``, so FastAPI's
    CDN-loading pages are not there)."""
    app.mount("/ui/static", StaticFiles(directory=STATIC_DIR), name="console-static")

    @app.get("/ui", include_in_schema=False)
    async def console(request: Request) -> HTMLResponse:
        policy = getattr(request.app.state, "policy", None)
        return HTMLResponse(
            console_page(getattr(policy, "timezone", None)),
            headers={"Cache-Control": "no-cache"},
        )

    @app.get("/ui/", include_in_schema=False)
    async def console_slash() -> RedirectResponse:
        return RedirectResponse("/ui")

    if not docs:
        return

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} — Swagger UI",
            swagger_js_url=f"{VENDOR}/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url=f"{VENDOR}/swagger-ui/swagger-ui.css",
            swagger_favicon_url="/ui/static/favicon.svg",
            oauth2_redirect_url="/docs/oauth2-redirect",
        )

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} — ReDoc",
            redoc_js_url=f"{VENDOR}/redoc/redoc.standalone.js",
            redoc_favicon_url="/ui/static/favicon.svg",
            with_google_fonts=False,
        )
