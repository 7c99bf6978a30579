"""Read one study's stored attributes and finished-trial count with a plain SQL query.

Opening Optuna's RDBStorage imports Optuna and its ORM models and checks the schema through
alembic (about a second on a busy machine); a command that only needs to know whether a study is
already done (`sweeper launch` on a finished study) reads Optuna's tables directly, writes
nothing, and imports SQLAlchemy's core only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy
from sqlalchemy.exc import SQLAlchemyError

from storage.urls import is_grpc_url, parse_storage_url, sqlite_path

__all__ = ["StudyPeek", "peek_study"]


@dataclass(frozen=True)
class StudyPeek:
    """What a read-only look at a study found."""

    user_attrs: dict[str, Any]
    finished: int


def peek_study(url: str, name: str) -> StudyPeek | None:
    """The study's user attributes and COMPLETE + PRUNED trial count; None when the storage,
    its tables or the study are not there, or the database cannot be read right now (or sits
    behind a gRPC proxy, which only Optuna's storage API reaches)."""
    if is_grpc_url(url):
        return None
    path = sqlite_path(url)
    if path is not None and not path.is_file():
        return None
    parsed = parse_storage_url(url)
    timeout = {"timeout": 10} if path is not None else {"connect_timeout": 10}
    engine = sqlalchemy.create_engine(
        parsed.render_as_string(hide_password=False), connect_args=timeout
    )
    try:
        with engine.connect() as connection:
            row = connection.execute(
                sqlalchemy.text("SELECT study_id FROM studies WHERE study_name = :name"),
                {"name": name},
            ).first()
            if row is None:
                return None
            attrs = connection.execute(
                sqlalchemy.text(
                    "SELECT key, value_json FROM study_user_attributes WHERE study_id = :id"
                ),
                {"id": row[0]},
            ).all()
            finished = connection.execute(
                sqlalchemy.text(
                    "SELECT COUNT(*) FROM trials WHERE study_id = :id "
                    "AND state IN ('COMPLETE', 'PRUNED')"
                ),
                {"id": row[0]},
            ).scalar_one()
    except SQLAlchemyError:
        return None
    finally:
        engine.dispose()
    return StudyPeek({key: json.loads(value) for key, value in attrs}, int(finished))
