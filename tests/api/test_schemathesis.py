"""Property-based API testing with schemathesis: no 500s, every response fits the spec.

Bounded in time: a few examples per operation, an admin key (which may call almost every
endpoint), a seeded bank so lookups can hit. URL-fetching endpoints run with no networks
allowed, so generated URLs are refused by the SSRF guard before any connection.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from keepdown.app import build_app
from keepdown.auth import Role
from tests.api.conftest import make_settings, seed_known_bank

schemathesis = pytest.importorskip("schemathesis")
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    ignored_auth,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

#: No 500, only documented statuses, content types, headers and bodies, and auth enforced.
#: (``positive_data_acceptance`` is left out: a schema-valid hash of the wrong length for its
#: signal type, or a URL with no host, is rightly refused with 400.)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    ignored_auth,
]


@pytest.fixture
def api_under_test(tmp_path: Path):
    app, services = build_app(
        make_settings(tmp_path, crawl_allowed_networks="", crawl_timeout_seconds=2),
        refresh_in_background=False,
    )
    seed_known_bank(services)
    token = services.auth.issue_key("acme", Role.ADMIN).token
    yield app, token
    services.storage.close()


@pytest.mark.slow
def test_api_matches_its_openapi_document(api_under_test) -> None:
    app, token = api_under_test
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        def check(case) -> None:
            case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)

        check()
