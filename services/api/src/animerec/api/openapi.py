"""The API's OpenAPI 3.0 document, written out by hand so it says exactly what the routes check."""

from __future__ import annotations

import copy
from typing import Any

from animerec.common import contracts

from . import filters
from .errors import MAX_ANIME_ID, USER_NAME_SCHEMA
from .feedback import MAX_BODY


def from_schemas(name: str) -> dict[str, Any]:
    """A definition of the event schemas with its local $refs inlined (OpenAPI 3.0 has no $defs): the request
    body and the user name are documented from the same source the API checks them with."""
    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return inline(copy.deepcopy(contracts.definition(ref.removeprefix("#/$defs/"))))
            return {k: inline(v) for k, v in node.items()}
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node
    doc: dict[str, Any] = inline(copy.deepcopy(contracts.definition(name)))
    if "enum" in doc and "type" not in doc:
        doc["type"] = "string"
    for prop in doc.get("properties", {}).values():
        if "enum" in prop and "type" not in prop:
            prop["type"] = "string"
    return doc


FILTER_PARAMETERS = [{"in": "query", "required": False, **p} for p in filters.PARAMETERS]


def _error(description: str, retry_after: bool = False) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description,
                                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    if retry_after:
        response["headers"] = {"Retry-After": {"description": "Seconds to wait before retrying",
                                               "schema": {"type": "string"}}}
    return response


BAD_REQUEST = _error("Malformed request (bad user name, anime id or query parameter)")
NOT_FOUND = _error("Unknown anime")
UNAVAILABLE = _error("Redis or Kafka is unreachable, or nothing has been published yet", retry_after=True)


def _json(ref: str, description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": ref}}}}


def _n(default: int, maximum: int, description: str) -> dict[str, Any]:
    return {"name": "n", "in": "query", "required": False, "description": description,
            "schema": {"type": "integer", "minimum": 1, "maximum": maximum, "default": default}}


ANIME_ID = {"name": "anime_id", "in": "path", "required": True, "description": "MyAnimeList anime id",
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ANIME_ID}}

NULLABLE_STR = {"type": "string", "nullable": True}


def document(default_n: int, max_n: int) -> dict[str, Any]:
    card = {
        "anime_id": {"type": "integer"},
        "title": NULLABLE_STR,
        "picture": {**NULLABLE_STR, "description": "Cover image URL"},
        "score": {"type": "number", "nullable": True, "description": "MyAnimeList mean score"},
        "genres": {"type": "array", "items": {"type": "string"}},
        "url": {"type": "string", "description": "MyAnimeList page of the anime"},
        "type": NULLABLE_STR,
        "episodes": {"type": "integer", "nullable": True},
        "year": {"type": "integer", "nullable": True, "description": "Year it first aired"},
        "status": {"type": "string", "nullable": True, "enum": [*filters.STATUSES, None]},
        "adult": {"type": "boolean", "description": "Rated Rx on MyAnimeList (left out unless include_adult=true)"},
        "franchise": {"type": "integer", "description": "Franchise id: anime of one franchise share it (the "
                                                        "smallest MyAnimeList id among them)"},
    }
    item = {
        "type": "object",
        "required": ["anime_id", "rank", "url", "genres"],
        "properties": {**card,
                       "rank": {"type": "integer", "minimum": 1},
                       "rec_score": {"type": "number", "nullable": True,
                                     "description": "Model score (similarity for similar lists); null in fallbacks"},
                       "reason": {**NULLABLE_STR, "description": "Why it is recommended, when the model says"}},
    }
    return {
        "openapi": "3.0.3",
        "info": {"title": "animerec API", "version": "1.0.0",
                 "description": "Anime recommendations for MyAnimeList users, served from the published model."},
        "paths": {
            "/v1/users/{name}/recommendations": {"get": {
                "operationId": "recommendations",
                "summary": "A user's recommendations (ranked; optionally a random sample of the top n)",
                "description": "Anime already in the user's list, and those the user said are not for them, are "
                               "never returned. Users outside the published batch: their profile is crawled on "
                               "demand, then the fallback chain (configuration; default fold_in, "
                               "recent_completed, trending, popular) answers: source=fold_in is a personal list "
                               "from the published model's item-item weights. Filters apply to the long published "
                               "list before n is cut; adult (Rx) titles need include_adult=true. The answer "
                               "carries feedback_token, to send with feedback on its anime.",
                "parameters": [
                    {"name": "name", "in": "path", "required": True, "description": "MyAnimeList user name",
                     "schema": {k: v for k, v in USER_NAME_SCHEMA.items() if k != "description"}},
                    _n(default_n, max_n, "How many of the top recommendations to consider"),
                    {"name": "sample", "in": "query", "required": False,
                     "description": "Return a random sample of this size from the top n (all n when larger), "
                                    "at most one anime of a franchise while the top n has enough franchises",
                     "schema": {"type": "integer", "minimum": 1, "maximum": max_n}},
                    *FILTER_PARAMETERS,
                ],
                "responses": {"200": _json("#/components/schemas/Recommendations"), "400": BAD_REQUEST,
                              "503": UNAVAILABLE},
            }},
            "/v1/anime/{anime_id}": {"get": {
                "operationId": "anime", "summary": "One anime's card",
                "parameters": [ANIME_ID],
                "responses": {"200": _json("#/components/schemas/Anime"), "400": BAD_REQUEST, "404": NOT_FOUND,
                              "503": UNAVAILABLE},
            }},
            "/v1/anime/{anime_id}/similar": {"get": {
                "operationId": "similar", "summary": "Anime most similar to one anime",
                "parameters": [ANIME_ID, _n(default_n, max_n, "How many similar anime"), *FILTER_PARAMETERS],
                "responses": {"200": _json("#/components/schemas/Similar"), "400": BAD_REQUEST, "404": NOT_FOUND,
                              "503": UNAVAILABLE},
            }},
            "/v1/trending": {"get": {
                "operationId": "trending", "summary": "Trending anime (popular ones when no trend is published)",
                "parameters": [_n(default_n, max_n, "How many anime"), *FILTER_PARAMETERS],
                "responses": {"200": _json("#/components/schemas/Trending"), "400": BAD_REQUEST,
                              "503": UNAVAILABLE},
            }},
            "/v1/feedback": {"post": {
                "operationId": "feedback", "summary": "Record a like, dislike or click on a recommended anime",
                "description": "Every valid body is recorded. It changes the user's lists only with the "
                               "feedback_token of an answer for that user (signed, expiring, counted once per "
                               "anime and action): a dislike hides the anime at once, a like pulls similar anime "
                               "up. Rate-limited per client address and per user.",
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/FeedbackRequest"}}}},
                "responses": {
                    "202": _json("#/components/schemas/FeedbackAccepted", "Produced to the feedback topic"),
                    "400": _error("The body is not a JSON object"),
                    "413": _error(f"The body is larger than {MAX_BODY} bytes"),
                    "415": _error("The body is not sent as application/json"),
                    "422": _error("The JSON does not describe a valid feedback event"),
                    "429": _error("Too much feedback from this address or for this user", retry_after=True),
                    "503": UNAVAILABLE},
            }},
            "/healthz": {"get": {"operationId": "healthz", "summary": "Liveness",
                                 "responses": {"200": _json("#/components/schemas/Status")}}},
            "/readyz": {"get": {"operationId": "readyz", "summary": "Readiness: Redis and Kafka reachable",
                                "responses": {"200": _json("#/components/schemas/Status"),
                                              "503": _json("#/components/schemas/Status", "Not ready")}}},
        },
        "components": {"schemas": {
            "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                "type": "object", "required": ["code", "message", "status"],
                "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                               "status": {"type": "integer"}}}}},
            "Item": item,
            "Recommendations": {
                "type": "object", "required": ["user", "version", "source", "items"],
                "properties": {
                    "user": {"type": "string"}, "version": {"type": "string"},
                    "n": {"type": "integer"}, "sample": {"type": "integer", "nullable": True},
                    "source": {"type": "string", "enum": ["model", "fold_in", "recent_completed", "fallback"]},
                    "fallback": {"type": "string", "nullable": True, "enum": ["popular", "trending", None]},
                    "crawl": {"type": "string", "nullable": True,
                              "enum": ["requested", "pending", "done", "failed", "rate_limited", "disabled",
                                       "not_found", None]},
                    "message": NULLABLE_STR,
                    "filters": {"type": "object", "description": "The filters applied"},
                    "feedback_token": {"type": "string", "description": "Send it with feedback on these anime"},
                    "items": {"type": "array", "items": {"$ref": "#/components/schemas/Item"}}}},
            "Anime": {"type": "object", "required": ["anime_id", "version", "url"],
                      "properties": {**card, "version": {"type": "string"}}},
            "Similar": {"type": "object", "required": ["anime_id", "items"],
                        "properties": {"anime_id": {"type": "integer"}, "version": {"type": "string"},
                                       "n": {"type": "integer"}, "filters": {"type": "object"},
                                       "message": NULLABLE_STR,
                                       "items": {"type": "array", "items": {"$ref": "#/components/schemas/Item"}}}},
            "Trending": {"type": "object", "required": ["items", "source"],
                         "properties": {"version": {"type": "string"}, "n": {"type": "integer"},
                                        "source": {"type": "string", "enum": ["trending", "popular"]},
                                        "filters": {"type": "object"}, "message": NULLABLE_STR,
                                        "items": {"type": "array", "items": {"$ref": "#/components/schemas/Item"}}}},
            "FeedbackRequest": from_schemas("feedback_request"),
            "FeedbackAccepted": {"type": "object", "required": ["event_id", "status"],
                                 "properties": {"event_id": {"type": "string"}, "status": {"type": "string"},
                                                "applied": {"type": "boolean",
                                                            "description": "true: it changed the user's lists"},
                                                "token": {"type": "string", "description": "The token check"}}},
            "Status": {"type": "object", "required": ["status"],
                       "properties": {"status": {"type": "string"},
                                      "checks": {"type": "object", "additionalProperties": {"type": "string"}},
                                      "version": {"type": "string", "nullable": True}}},
        }},
    }
