"""What every command of the API client shares: the --url / --token / --json options, declared once, and
`api_command`, which gives them to a command together with a connected client and the exit statuses."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Annotated, Any

import httpx
import typer

from sightline.cli.client import DEFAULT_URL, ApiError, IngestClient
from sightline.cli.render import Output

__all__ = ["EXIT_API_ERROR", "EXIT_INTERRUPTED", "EXIT_JOB_NOT_CLEAN", "CollectionOption", "api_command", "connect"]

EXIT_JOB_NOT_CLEAN = 1  # the job ended in another state than `completed`
EXIT_API_ERROR = 2  # also typer's status for a usage error
EXIT_INTERRUPTED = 130  # Ctrl-C

UrlOption = Annotated[str, typer.Option("--url", envvar="SIGHTLINE_URL", help="The ingestion service.")]
TokenOption = Annotated[
    str | None,
    typer.Option("--token", envvar="SIGHTLINE_ADMIN_TOKEN", show_default=False,
                 help="Admin token (sent as 'Authorization: Bearer'), when the service requires one."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the API's JSON answer.")]
CollectionOption = Annotated[str, typer.Option("--collection", "-c", help="Collection name.")]

_SHARED = (
    inspect.Parameter("context", inspect.Parameter.KEYWORD_ONLY, annotation=typer.Context),
    inspect.Parameter("json_output", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=JsonOption),
    inspect.Parameter("url", inspect.Parameter.KEYWORD_ONLY, default=DEFAULT_URL, annotation=UrlOption),
    inspect.Parameter("token", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=TokenOption),
)


def connect(context: typer.Context, url: str, token: str | None) -> IngestClient:
    """A client of the service at `url`, over the transport given as the command's context object, if any
    (`CliRunner().invoke(app, args, obj=transport)` runs the commands against an in-process app)."""
    return IngestClient(url, token, transport=context.find_object(httpx.BaseTransport))


def api_command(*, json_flag: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate `command(api: IngestClient, out: Output, ...own parameters)` into a typer command that
    takes the own parameters plus --url and --token (and --json with `json_flag`).

    The client is closed after the command; an `ApiError` is printed in red on stderr and exits with
    status 2 (never a traceback)."""

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        signature = inspect.signature(command, eval_str=True)
        own = [param for name, param in signature.parameters.items() if name not in ("api", "out")]
        shared = [param for param in _SHARED if json_flag or param.name != "json_output"]

        @functools.wraps(command)
        def run(*args: Any, context: typer.Context, url: str, token: str | None, json_output: bool = False,
                **kwargs: Any) -> None:
            out = Output(as_json=json_output)
            try:
                with connect(context, url, token) as api:
                    command(api, out, *args, **kwargs)
            except ApiError as exc:
                out.error(str(exc))
                raise typer.Exit(EXIT_API_ERROR) from None

        parameters = [*own, *shared]
        run.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
        run.__annotations__ = {param.name: param.annotation for param in parameters}
        return run

    return decorate
