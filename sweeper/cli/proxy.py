"""`sweeper proxy`: one gRPC storage proxy in front of the database, for big fleets."""

from __future__ import annotations

import signal
import sys
from types import FrameType

import typer

from storage.urls import GRPC_DEFAULT_PORT, redact_url, resolve_storage_url
from sweeper.cli.options import HostOption, PortOption, StorageOption
from sweeper.cli.output import stderr, stdout


def proxy_command(
    storage: StorageOption = None,
    host: HostOption = "127.0.0.1",
    port: PortOption = GRPC_DEFAULT_PORT,
) -> None:
    """Serve the storage to workers over gRPC: they pass --storage grpc://HOST:PORT, and the
    database sees only this proxy's few connections however many workers there are."""
    from sweeper.dashboard.server import is_loopback
    from sweeper.proxy.server import PROXY_CONNECTIONS, StorageProxy

    url = resolve_storage_url(storage)
    if not is_loopback(host):
        stderr.print(
            f"warning: --host {host} is not a loopback address: anyone who can reach this "
            "machine can read, change and delete these studies (the proxy has no login)",
            markup=False,
        )
    proxy = StorageProxy(url, host, port)

    def stop(signum: int, frame: FrameType | None) -> None:
        proxy.server.stop(5.0)

    signal.signal(signal.SIGTERM, stop)
    shown = f"[{host.strip('[]')}]" if ":" in host else host
    stdout.print(
        f"storage proxy on grpc://{shown}:{proxy.port} for {redact_url(url)} (at most "
        f"{PROXY_CONNECTIONS} database connections); Ctrl-C stops it",
        markup=False,
    )
    sys.stdout.flush()  # a service's log may be a file: say it is up now
    try:
        proxy.wait()
    except KeyboardInterrupt:
        pass
    finally:
        proxy.stop()


def register(app: typer.Typer) -> None:
    """Add `proxy` to the CLI."""
    app.command("proxy")(proxy_command)
