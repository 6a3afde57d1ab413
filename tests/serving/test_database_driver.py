"""A PostgreSQL URL without psycopg installed stops the CLI with one line saying what to install."""

from __future__ import annotations

import sys

import pytest
from typer.testing import CliRunner

from nabiz.cli import app as cli

POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
runner = CliRunner()


@pytest.fixture
def without_psycopg(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # `import psycopg` fails as if not installed


def one_line_error(result) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and result.exception.__class__ is SystemExit
    return " ".join(result.output.split())  # rich may wrap the line


def test_serve_stops_at_once_when_the_postgresql_driver_is_missing(
    without_psycopg, monkeypatch, serving_model_dir
):
    def never(*args, **kwargs):
        raise AssertionError("the server must not start")

    monkeypatch.setattr("nabiz.serving.app.run_server", never)
    monkeypatch.setenv("NABIZ_DATABASE_URL", POSTGRES_URL)
    result = runner.invoke(cli, ["serve", "--model", str(serving_model_dir)])
    message = one_line_error(result)
    assert "'psycopg' is not installed" in message
    assert 'pip install -e ".[postgres]"' in message


def test_keys_commands_say_the_same_when_the_driver_is_missing(without_psycopg):
    result = runner.invoke(
        cli, ["keys", "create", "ekip", "--scope", "predict", "--database-url", POSTGRES_URL]
    )
    assert 'pip install -e ".[postgres]"' in one_line_error(result)
