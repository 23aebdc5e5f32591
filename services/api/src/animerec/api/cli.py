"""`animerec api`: serve the recommendation API and the web page with uvicorn."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from animerec.common import config
from animerec.common import log as logsetup
from animerec.common.config import ConfigError

from .settings import ApiSettings

if TYPE_CHECKING:
    from starlette.applications import Starlette


def app_factory() -> Starlette:
    """uvicorn --factory entry (one app per worker process): settings come from the environment."""
    from .app import create_app
    return create_app()


@click.command("api", context_settings={"show_default": True})
@click.option("--host", default=None, help="Bind address (default: ANIMEREC_API_HOST)")
@click.option("--port", type=int, default=None, help="Port (default: ANIMEREC_API_PORT)")
@click.option("--workers", type=int, default=None, help="Worker processes (default: ANIMEREC_API_WORKERS)")
@click.option("--print-settings", is_flag=True, help="List the ANIMEREC_API_* settings and exit")
@click.pass_context
def api(ctx: click.Context, host: str | None, port: int | None, workers: int | None, print_settings: bool) -> None:
    """Serve recommendations, the web page, /metrics, /healthz and /readyz over HTTP."""
    if print_settings:
        from animerec.common.texttable import table
        rows = [[r["variable"], r["type"], r["default"], r["help"]] for r in config.describe(ApiSettings)]
        click.echo(table(rows, ["variable", "type", "default", "meaning"]))
        return
    core = ctx.find_root().obj or config.core()
    given: dict[str, Any] = {"host": host, "port": port, "workers": workers}
    overrides = {k: v for k, v in given.items() if v is not None}
    try:
        settings = config.load(ApiSettings, **overrides)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    logsetup.setup("api", core.log_level, core.log_format)
    import uvicorn
    uvicorn.run("animerec.api.cli:app_factory", factory=True, host=settings.host, port=settings.port,
                workers=settings.workers, loop="uvloop", http="httptools", access_log=settings.access_log,
                server_header=False, proxy_headers=False, log_config=None, timeout_graceful_shutdown=10)
