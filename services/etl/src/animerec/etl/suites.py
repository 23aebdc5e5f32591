"""Step 3: Great Expectations suites over the staging tables (GX 1.x, ephemeral context, SQL datasource).

Every expectation carries a short `name` in its meta; the readable summary and the tests use it.
Cross-table rules (referential integrity, symmetry, the cleaning rules) are `UnexpectedRowsExpectation`s:
a query that must return no rows.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any

from psycopg.conninfo import conninfo_to_dict

from animerec.common import contracts

from .steps import RELATION_TYPES

log = logging.getLogger(__name__)

STATUSES = ("watching", "completed", "on_hold", "dropped", "plan_to_watch")
AIRING_STATUSES = ("Finished Airing", "Currently Airing", "Not yet aired")
AIRING = "lower(btrim(a.status))"


@dataclass(frozen=True)
class Check:
    name: str
    kind: str                 # a GX expectation class name
    kwargs: dict[str, Any] = field(default_factory=dict)


def unique(name, column):
    return Check(name, "ExpectColumnValuesToBeUnique", {"column": column})


def not_null(name, column):
    return Check(name, "ExpectColumnValuesToNotBeNull", {"column": column})


def between(name, column, low=None, high=None):
    return Check(name, "ExpectColumnValuesToBeBetween", {"column": column, "min_value": low, "max_value": high})


def in_set(name, column, values):
    return Check(name, "ExpectColumnValuesToBeInSet", {"column": column, "value_set": list(values)})


def pair_unique(name, columns):
    return Check(name, "ExpectCompoundColumnsToBeUnique", {"column_list": list(columns)})


def no_rows(name, query, description):
    # GX leaves aliasing {batch} to the query when it has a JOIN, and aliases it itself otherwise:
    # so cross-table rules are written as joins with `{batch} t`, single-table ones use a bare {batch}.
    return Check(name, "UnexpectedRowsExpectation", {"unexpected_rows_query": query, "description": description})


def exists_in(name, column, table, key, description):
    return no_rows(name, f"SELECT t.* FROM {{batch}} t LEFT JOIN staging.{table} x ON x.{key} = t.{column} "
                         f"WHERE t.{column} IS NOT NULL AND x.{key} IS NULL", description)


def symmetric(name, a, b, description):
    return no_rows(name, f"SELECT t.* FROM {{batch}} t LEFT JOIN {{batch}} s ON s.{a} = t.{b} AND s.{b} = t.{a} "
                         f"WHERE t.{a} IS NOT NULL AND t.{b} IS NOT NULL AND s.{a} IS NULL", description)


SUITES: dict[str, list[Check]] = {
    "anime": [
        not_null("anime_id_not_null", "anime_id"),
        unique("anime_id_unique", "anime_id"),
        between("anime_id_positive", "anime_id", 1),
        not_null("title_not_null", "title"),
        not_null("anime_url_not_null", "anime_url"),
        between("num_episodes_range", "num_episodes", 0, 10000),
        between("score_range", "score", 1, 10),
        in_set("airing_status_allowed", "status", AIRING_STATUSES),
        between("members_count_non_negative", "members_count", 0),
        not_null("studios_not_null", "studios"),
        not_null("genres_not_null", "genres"),
    ],
    "user": [
        not_null("user_id_not_null", "user_id"),
        unique("user_id_unique", "user_id"),
        not_null("user_name_not_null", "user_name"),
        unique("user_name_unique", "user_name"),
        Check("user_name_normalised", "ExpectColumnValuesToMatchRegex",
              {"column": "user_name", "regex": f"^{contracts.user_name_pattern().replace('A-Za-z', 'a-z')}$"}),
        not_null("user_url_not_null", "user_url"),
        between("mean_score_range", "mean_score", 0, 10),
        between("num_completed_non_negative", "num_completed", 0),
        no_rows("user_id_stable", "SELECT t.* FROM {batch} t LEFT JOIN staging.user_ids i "
                "ON i.user_id = t.user_id AND i.user_name = t.user_name "
                "WHERE t.user_id IS NOT NULL AND t.user_name IS NOT NULL AND i.user_id IS NULL",
                "every user id is the stable id of its name in staging.user_ids"),
    ],
    "user_anime": [
        not_null("user_id_not_null", "user_id"),
        not_null("anime_id_not_null", "anime_id"),
        pair_unique("user_anime_pair_unique", ("user_id", "anime_id")),
        exists_in("user_known", "user_id", '"user"', "user_id", "every user_id is a staging user"),
        exists_in("anime_known", "anime_id", "anime", "anime_id", "every anime_id is a staging anime"),
        not_null("status_not_null", "status"),
        in_set("status_allowed", "status", STATUSES),
        between("score_range", "score", 1, 10),
        between("progress_non_negative", "progress", 0),
        not_null("favorite_not_null", "favorite"),
        between("review_score_range", "review_score", 0, 10),
        no_rows("progress_within_episodes",
                "SELECT t.* FROM {batch} t JOIN staging.anime a USING (anime_id) "
                "WHERE a.num_episodes > 0 AND t.progress > a.num_episodes",
                "progress never exceeds the anime's episode count"),
        no_rows("no_completed_while_airing",
                f"SELECT t.* FROM {{batch}} t JOIN staging.anime a USING (anime_id) "
                f"WHERE {AIRING} = 'currently airing' AND t.status = 'completed'",
                "nobody has completed an anime that is still airing"),
        no_rows("not_yet_aired_only_planned",
                f"SELECT t.* FROM {{batch}} t JOIN staging.anime a USING (anime_id) "
                f"WHERE {AIRING} = 'not yet aired' AND t.status <> 'plan_to_watch'",
                "anime not yet aired are only planned to watch"),
        no_rows("plan_to_watch_consistent",
                f"SELECT t.* FROM {{batch}} t JOIN staging.anime a USING (anime_id) "
                f"WHERE t.status = 'plan_to_watch' AND {AIRING} IS DISTINCT FROM 'not yet aired' "
                "AND (t.progress > 0 OR t.score IS NOT NULL OR t.favorite)",
                "plan_to_watch rows carry no progress, score or favorite"),
    ],
    "anime_anime": [
        not_null("anime_a_not_null", "anime_a"),
        not_null("anime_b_not_null", "anime_b"),
        pair_unique("anime_pair_unique", ("anime_a", "anime_b")),
        no_rows("no_self_pairs", "SELECT * FROM {batch} WHERE anime_a = anime_b", "an anime is not paired with itself"),
        exists_in("anime_a_known", "anime_a", "anime", "anime_id", "anime_a is a staging anime"),
        exists_in("anime_b_known", "anime_b", "anime", "anime_id", "anime_b is a staging anime"),
        symmetric("recommendations_symmetric", "anime_a", "anime_b", "every pair also exists reversed"),
        in_set("relation_type_allowed", "relation_type", RELATION_TYPES),
        between("num_recommenders_non_negative", "num_recommenders", 0),
        no_rows("pair_has_a_reason", "SELECT * FROM {batch} WHERE NOT (recommendation OR related)",
                "a pair is a recommendation, a relation or both"),
    ],
    "user_user": [
        not_null("user_a_not_null", "user_a"),
        not_null("user_b_not_null", "user_b"),
        pair_unique("user_pair_unique", ("user_a", "user_b")),
        no_rows("no_self_friends", "SELECT * FROM {batch} WHERE user_a = user_b", "nobody is their own friend"),
        exists_in("user_a_known", "user_a", '"user"', "user_id", "user_a is a staging user"),
        exists_in("user_b_known", "user_b", '"user"', "user_id", "user_b is a staging user"),
        symmetric("friendships_symmetric", "user_a", "user_b", "every friendship exists in both directions"),
    ],
}


@dataclass
class CheckResult:
    suite: str
    name: str
    kind: str
    success: bool
    unexpected_count: int | None
    examples: list[Any]
    observed: Any = None

    def line(self) -> str:
        mark = "ok  " if self.success else "FAIL"
        detail = ""
        if not self.success:
            if self.unexpected_count is not None:
                detail = f": {self.unexpected_count} unexpected"
            if self.examples:
                detail += f", e.g. {self.examples[:3]}"
            elif self.observed is not None:
                detail += f" (observed {self.observed})"
        return f"  {mark} {self.suite}.{self.name}{detail}"


@dataclass
class Validation:
    results: list[CheckResult]
    raw: dict[str, Any]          # the GX validation results, JSON-ready

    @property
    def success(self) -> bool:
        return all(r.success for r in self.results)

    def failures(self) -> list[CheckResult]:
        return [r for r in self.results if not r.success]

    def summary(self) -> str:
        failed = self.failures()
        head = (f"validation {'passed' if not failed else 'FAILED'}: {len(self.results) - len(failed)}/"
                f"{len(self.results)} expectations met over {len(self.raw)} suite(s)")
        return "\n".join([head, *(r.line() for r in (failed or []))])


def sqlalchemy_url(postgres_url: str) -> str:
    """libpq URL or DSN -> SQLAlchemy URL on the psycopg 3 driver."""
    from sqlalchemy.engine import URL
    params = {k: str(v) for k, v in conninfo_to_dict(postgres_url).items() if v is not None}
    return URL.create("postgresql+psycopg", username=params.get("user"), password=params.get("password"),
                      host=params.get("host"), port=int(params["port"]) if params.get("port") else None,
                      database=params.get("dbname"),
                      query={k: v for k, v in params.items()
                             if k not in {"user", "password", "host", "port", "dbname"}}
                      ).render_as_string(hide_password=False)


def _quiet_gx() -> None:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    for name in ("great_expectations", "great_expectations.core", "great_expectations.data_context"):
        logging.getLogger(name).setLevel(logging.WARNING)


def validate(postgres_url: str, suites: list[str] | None = None) -> Validation:
    """Run the suites (all by default) against the staging tables; never raises on failed expectations."""
    _quiet_gx()
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    _quiet_gx()  # again: importing GX resets its loggers
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_postgres(name="staging", connection_string=sqlalchemy_url(postgres_url))
    results: list[CheckResult] = []
    raw: dict[str, Any] = {}
    for table in suites or list(SUITES):
        asset = source.add_table_asset(name=table, table_name=table, schema_name="staging")
        batch = asset.add_batch_definition_whole_table(f"{table}_all")
        suite = context.suites.add(gx.ExpectationSuite(name=f"staging.{table}"))
        for check in SUITES[table]:
            expectation = getattr(gx.expectations, check.kind)(**check.kwargs, meta={"name": check.name})
            suite.add_expectation(expectation)
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=f"validate_{table}", data=batch, suite=suite))
        outcome = definition.run(result_format={"result_format": "SUMMARY", "partial_unexpected_count": 5})
        doc = outcome.to_json_dict()
        raw[table] = doc
        for item in doc["results"]:
            config = item["expectation_config"]
            result = item.get("result") or {}
            results.append(CheckResult(
                suite=table, name=(config.get("meta") or {}).get("name", config["type"]), kind=config["type"],
                success=bool(item["success"]), unexpected_count=result.get("unexpected_count"),
                examples=(result.get("partial_unexpected_list") or (result.get("details") or {}).get("unexpected_rows")
                          or [])[:5],
                observed=result.get("observed_value")))
            if item.get("exception_info", {}).get("raised_exception"):
                log.error("expectation raised", extra={"suite": table, "info": item["exception_info"]})
    return Validation(results, raw)
