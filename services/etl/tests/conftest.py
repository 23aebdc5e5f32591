"""Fixtures of the ETL tests: a private database per test, cloned from a migrated template."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from psycopg import sql

from animerec.common import db, migrate
from animerec.devkit.fixtures import PG_SERVER
from animerec.landing import direct


@pytest.fixture(scope="session")
def etl_template():
    url = db.with_database(PG_SERVER, f"animerec_etl_tmpl_{uuid.uuid4().hex[:8]}")
    db.ensure_database(url)
    migrate.apply(url)
    yield db.database_name(url)
    db.drop_database(url)


def _clone(template: str) -> str:
    url = db.with_database(PG_SERVER, f"animerec_etl_{uuid.uuid4().hex[:10]}")
    with psycopg.connect(db.with_database(PG_SERVER, "postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(db.database_name(url)), sql.Identifier(template)))
    return url


@pytest.fixture()
def etl_db(etl_template):
    url = _clone(etl_template)
    yield url
    db.drop_database(url)


@pytest.fixture(scope="module")
def module_db(etl_template):
    url = _clone(etl_template)
    yield url
    db.drop_database(url)


def land(url: str, messages, offset: int = 0) -> int:
    with db.connect(url) as conn:
        return direct.land_messages(conn, messages, start_offset=offset)


def rows(url: str, query: str, *args):
    with db.connect(url) as conn:
        return conn.execute(query, args).fetchall()
