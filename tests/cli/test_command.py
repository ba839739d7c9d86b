"""The options every API command shares: --url, --token (and their environment variables), --json."""

from __future__ import annotations

import httpx
import pytest
from typer.testing import CliRunner

from sightline.cli import app
from tests.cli.conftest import ENV, URL, InProcess, invoke, serve, settings_for


@pytest.fixture(scope="module")
def guarded(ml_app, tmp_path_factory):
    """A server that wants the admin token "s3cret"."""
    with serve(settings_for(tmp_path_factory.mktemp("guarded"), admin_token="s3cret"), ml_app) as http:
        yield InProcess(http)


def test_without_the_token_the_server_refuses(guarded):
    refused = invoke(guarded.transport, "jobs", "list")
    assert refused.exit_code == 2
    assert refused.stderr.startswith("UNAUTHORIZED: Admin token required")


def test_the_token_option_is_sent(guarded):
    assert invoke(guarded.transport, "jobs", "list", "--token", "s3cret").output == "No jobs.\n"


def test_the_token_comes_from_the_environment(guarded):
    allowed = CliRunner().invoke(app, ["jobs", "list", "--url", URL],
                                 env={**ENV, "SIGHTLINE_ADMIN_TOKEN": "s3cret"}, obj=guarded.transport)
    assert allowed.output == "No jobs.\n"


def test_the_url_comes_from_the_environment():
    asked: list[str] = []

    def server(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        return httpx.Response(200, json={"jobs": []})

    CliRunner().invoke(app, ["jobs", "list"], env={**ENV, "SIGHTLINE_URL": "http://elsewhere.test:9"},
                       obj=httpx.MockTransport(server))
    assert asked == ["http://elsewhere.test:9/api/v1/jobs?limit=20"]


@pytest.mark.parametrize("command", [
    ["jobs", "list"], ["jobs", "show"], ["jobs", "errors"], ["jobs", "logs"], ["jobs", "cancel"], ["jobs", "retry"],
    ["ingest"], ["search"], ["collections", "list"], ["collections", "create"], ["collections", "info"],
    ["collections", "delete"], ["images", "show"], ["images", "delete"]])
def test_every_api_command_has_a_json_flag(command):
    result = CliRunner().invoke(app, [*command, "--help"], env={**ENV, "COLUMNS": "200"})
    assert result.exit_code == 0 and "--json" in result.output, result.output
