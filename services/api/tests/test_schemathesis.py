"""Property-based run of schemathesis against the service's own OpenAPI document: positive and negative cases
for every operation, sent over real HTTP to uvicorn; every answer must match the document and none may be 5xx."""

import os

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from animerec.api import openapi
from animerec.api.settings import ApiSettings
from animerec.common import config

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# per operation: bounded so the whole run stays well under a minute (raise it locally for a deeper search)
MAX_EXAMPLES = int(os.environ.get("ANIMEREC_TEST_SCHEMATHESIS_EXAMPLES", "25"))

_defaults = config.load(ApiSettings, {})
# The document the service serves (test_served_document_is_the_one_tested checks it is the same).
DOCUMENT = openapi.document(_defaults.default_n, _defaults.max_n)
schema = schemathesis.openapi.from_dict(DOCUMENT)
schema.config.generation.update(max_examples=MAX_EXAMPLES)


def test_served_document_is_the_one_tested(live_api):
    assert httpx.get(f"{live_api.url}/openapi.json").json() == DOCUMENT


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_every_operation_honours_its_schema(case, live_api):
    response = case.call_and_validate(base_url=live_api.url, timeout=10)
    assert response.status_code < 500
    assert "content-security-policy" in response.headers
