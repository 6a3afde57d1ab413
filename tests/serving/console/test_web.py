"""The console's files and the API docs are served from the package, never from a CDN."""

from __future__ import annotations

import re

import pytest

from nabiz.serving.console.svg import line_chart
from nabiz.serving.console.web import console_page

ASSET = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")


def test_the_console_page_loads_only_its_own_files(api_client):
    page = api_client.get("/ui")
    assert page.status_code == 200 and 'lang="tr"' in page.text
    assets = [a for a in ASSET.findall(page.text) if not a.startswith("#")]  # "#": in-page
    assert assets and all(a.startswith("/ui/static/") for a in assets)
    for asset in assets:
        assert api_client.get(asset).status_code == 200, asset


def test_the_console_page_names_the_policys_timezone(api_client):
    """format.js reads it: a day in a date filter is the policy's day, not the browser's."""
    page = api_client.get("/ui")
    assert '<meta name="nabiz-timezone" content="Europe/Istanbul">' in page.text
    assert page.headers["cache-control"] == "no-cache"
    assert '<meta name="nabiz-timezone" content="">' in console_page(None)
    assert 'content="a&quot;b"' in console_page('a"b')


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_the_api_docs_load_their_bundles_from_the_package(api_client, path):
    page = api_client.get(path)
    assert page.status_code == 200
    urls = re.findall(r"""(?:src|href|url)\s*[=:]\s*['"]([^'"]+)['"]""", page.text)
    external = [u for u in urls if u.startswith(("http:", "https:", "//"))]
    assert external == []
    bundles = [u for u in urls if u.startswith("/ui/static/vendor/")]
    assert bundles
    for bundle in bundles:
        response = api_client.get(bundle)
        assert response.status_code == 200 and len(response.content) > 100_000, bundle


def test_the_vendored_bundles_carry_their_licences(api_client):
    for path in ("swagger-ui/LICENSE", "redoc/LICENSE", "README.txt"):
        assert api_client.get(f"/ui/static/vendor/{path}").status_code == 200


def test_a_chart_with_negative_values_keeps_every_point_inside():
    svg = line_chart(["2026-11-02", "2026-11-09"], [("NPS", [-40.0, 12.0])], height=200)
    ys = [float(y) for y in re.findall(r'cy="([-\d.]+)"', svg)]
    assert len(ys) == 2 and all(0 <= y <= 200 for y in ys)
    assert ys[0] > ys[1]  # -40 is drawn below 12
