"""Property-based API testing with schemathesis: no 500s, every response fits the spec.

Bounded in time (about a minute): each operation is called with a key of each role it admits
(``x-roles``; admin for public ones), more examples for cheap operations than for uploads,
URL fetches and whole-bank files; a seeded bank so lookups can hit. URL-fetching endpoints run
with no networks allowed, so generated URLs are refused by the SSRF guard before any
connection. Every key is of the operator organisation, so scoping never hides what a role may
call.
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
#: (``positive_data_acceptance`` is left out because it is not sound here: a schema-valid hash
#: of the wrong length for its signal type, a URL with no host, a bank or key that does not
#: exist, or a second create of the same name are rightly refused with 400, 404 or 409.)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    ignored_auth,
]


#: Operations whose calls hash media, fetch URLs or move whole bank files: fewer examples.
_HEAVY = ("/api/v1/hash", "/api/v1/match", "/v1/media/", "/v1/url/", "/h/hash", "/m/lookup")
_HEAVY_SUFFIXES = ("/import", "/export", "/url")
EXAMPLES = {"cheap": 12, "heavy": 4}


@pytest.fixture
def api_under_test(tmp_path: Path):
    app, services = build_app(
        make_settings(tmp_path, crawl_allowed_networks="", crawl_timeout_seconds=2),
        refresh_in_background=False,
    )
    seed_known_bank(services)
    tokens = {role: services.auth.issue_key("acme", role).token for role in Role}
    yield app, tokens
    services.storage.close()


def _examples(path: str, roles: int) -> int:
    heavy = path in _HEAVY or path.endswith(_HEAVY_SUFFIXES)
    return max(2, EXAMPLES["heavy" if heavy else "cheap"] // roles)


@pytest.mark.slow
def test_api_matches_its_openapi_document(api_under_test) -> None:
    app, tokens = api_under_test
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 30
    for operation in operations:
        documented = operation.definition.raw.get("x-roles", ["public"])
        roles = [Role(r) for r in documented if r in Role._value2member_map_] or [Role.ADMIN]
        for role in roles:
            _fuzz(operation, {"Authorization": f"Bearer {tokens[role]}"}, len(roles))


def _fuzz(operation, headers: dict[str, str], roles: int) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=_examples(operation.path, roles),
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def check(case) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    check()
