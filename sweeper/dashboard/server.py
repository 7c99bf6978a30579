"""Serve optuna-dashboard on a study storage, opened exactly as the workers open it.

The storage comes from `storage.engine.open_storage`, so a SQLite file is in WAL mode with the
workers' busy timeout: the dashboard's reads never block a worker's write, and a write that
meets a lock waits instead of failing with "database is locked" (optuna-dashboard issue #545).
The app is optuna-dashboard's own WSGI app (`optuna_dashboard.wsgi`) on a threaded wsgiref server.
"""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from storage.engine import open_storage
from sweeper.artifact_location import artifact_dir, open_artifact_store
from sweeper.errors import SweeperError
from sweeper.studies import CONFIG_ATTR

if TYPE_CHECKING:
    from optuna.storages import BaseStorage


def is_loopback(host: str) -> bool:
    """Whether `host` only accepts connections from this machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def public_host_warning(host: str) -> str | None:
    """The warning to print before binding to a non-loopback address, else None."""
    if is_loopback(host):
        return None
    return (
        f"warning: --host {host} is not a loopback address: anyone who can reach this machine "
        "can read, edit and delete these studies (optuna-dashboard has no login)"
    )


def stored_artifact_dirs(storage: BaseStorage, storage_url: str) -> set[Path]:
    """The artifact directories the storage's sweeper studies upload to."""
    dirs: set[Path] = set()
    for study in storage.get_all_studies():
        stored = study.user_attrs.get(CONFIG_ATTR)
        if isinstance(stored, dict):
            configured = stored.get("artifacts")
            dirs.add(artifact_dir(storage_url, configured if isinstance(configured, str) else None))
    return dirs


def choose_artifact_dir(
    storage: BaseStorage, storage_url: str, flag: Path | None
) -> tuple[Path, str | None]:
    """`--artifacts`, else the one directory the studies use, else the default for the URL;
    with a note when studies disagree."""
    if flag is not None:
        return flag, None
    default = artifact_dir(storage_url)
    dirs = stored_artifact_dirs(storage, storage_url)
    if len(dirs) == 1:
        return dirs.pop(), None
    if len(dirs) > 1:
        listed = ", ".join(sorted(str(d) for d in dirs))
        return default, (
            f"note: studies upload artifacts to different directories ({listed}); showing "
            f"{default}; pass --artifacts DIR for another"
        )
    return default, None


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _ThreadingWSGIServer6(_ThreadingWSGIServer):
    address_family = socket.AF_INET6


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Stay silent per request; the terminal shows only the address and problems."""


def dashboard_app(storage: BaseStorage, artifacts: Path) -> Any:
    """optuna-dashboard's WSGI app on `storage`, with a file-system artifact store."""
    from optuna_dashboard import wsgi

    return wsgi(storage, artifact_store=open_artifact_store(artifacts))


def bind(app: Any, host: str, port: int) -> WSGIServer:
    """A threaded server bound to host:port (port 0: any free port); SweeperError when taken."""
    server_class = _ThreadingWSGIServer6 if ":" in host else _ThreadingWSGIServer
    try:
        return make_server(
            host.strip("[]"), port, app, server_class=server_class, handler_class=_QuietHandler
        )
    except OSError as error:
        raise SweeperError(f"--port {port}: cannot listen on {host}: {error.strerror}") from None


def open_dashboard_storage(storage_url: str) -> BaseStorage:
    """The storage with the workers' engine settings (WAL, busy timeout, pool); must exist."""
    return open_storage(storage_url, must_exist=True)


def url_of(server: WSGIServer, host: str) -> str:
    """The address a browser opens, with the port the server actually bound."""
    port = server.server_address[1]
    shown = f"[{host.strip('[]')}]" if ":" in host else host
    return f"http://{shown}:{port}/dashboard/"
