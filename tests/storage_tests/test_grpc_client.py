"""The gRPC client waits out an absent proxy on every storage call Optuna's proxy client makes:
the retried list is pinned to GrpcStorageProxy's own methods, so an Optuna release that adds
one fails here instead of losing its retries silently."""

from __future__ import annotations

import inspect

from optuna.storages import BaseStorage, GrpcStorageProxy

from storage import grpc_client


def test_every_storage_call_of_the_proxy_client_is_retried() -> None:
    storage_api = {
        name
        for name, member in inspect.getmembers(BaseStorage, inspect.isfunction)
        if not name.startswith("_")
    }
    own = {name for name in vars(GrpcStorageProxy) if name in storage_api}
    assert own == set(grpc_client._RETRIED)
    for name in own:
        assert getattr(grpc_client.ResilientGrpcStorage, name) is not getattr(
            GrpcStorageProxy, name
        )
