"""The header shows a person only the pages they may open (issue 15): the nav listed the
case-work pages to an admin outside the operator organisation, who met 403s on each.

Every nav item says what its route's guard says (roles, case work), so the two cannot drift;
and the header is drawn for each role, inside and outside the operator organisation, and every
link in it opens.
"""

from __future__ import annotations

import re

from keepdown.auth import Role
from keepdown.web import WEB_ROOT, web_routes
from keepdown.web.nav import NAV
from tests.web.conftest import PASSWORD, Web


def _guard(path: str):
    for route in web_routes():
        if f"{WEB_ROOT}{route.path}" == path and "GET" in route.methods:
            for dependency in route.dependant.dependencies:
                if getattr(dependency.call, "allowed_roles", None) is not None:
                    return dependency.call
    raise AssertionError(f"no guarded GET route for {path}")


def test_every_nav_item_says_what_its_route_guard_says() -> None:
    for item in NAV:
        guard = _guard(item.path)
        assert frozenset(guard.allowed_roles) == item.roles, item.path
        assert guard.case_work == item.case_work, item.path


def _links(html: str) -> list[str]:
    """The pages the header links to (empty when it has no nav)."""
    nav = re.search(r'<nav aria-label="Main">(.*?)</nav>', html, re.S)
    return re.findall(r'href="(/web/[^"#?]*)"', nav.group(1)) if nav else []


def test_the_header_holds_only_pages_that_open(web: Web) -> None:
    web.services.auth.ensure_organisation("partner")
    outsiders = {}
    for role in (Role.ADMIN, Role.ANALYST):
        name = f"partner-{role.value}"
        web.ctx.signin.add_user(name, PASSWORD, organisation="partner", role=role)
        outsiders[role] = name
    people = [(role, web.users[role]) for role in Role] + list(outsiders.items())
    for role, name in people:
        web.client.cookies.clear()
        web.sign_in(name)
        links = _links(web.client.get("/web/").text)
        for path in links:
            assert web.client.get(path).status_code == 200, (name, path)
        for item in NAV:
            if item.path not in links and role in item.roles:
                refused = web.client.get(item.path)
                assert refused.status_code == 403, (name, item.path)
                assert _links(refused.text) == links  # the 403 page keeps the header
        if name in outsiders.values():
            assert "/web/review" not in links
            assert "/web/banks" in links  # a partner's own banks are theirs to open
        elif role in (Role.ADMIN, Role.ANALYST):
            assert {"/web/review", "/web/indicators"} <= set(links)


def test_the_key_and_people_forms_preselect_nothing(web: Web) -> None:
    # Issue 15: they preselected the alphabetically first organisation and the role admin.
    web.sign_in_as(Role.ADMIN)
    for path in ("/web/keys", "/web/users"):
        page = web.client.get(path).text
        org = re.search(r'<select id="[ku]-org"[^>]*>(.*?)</select>', page, re.S).group(1)
        assert re.findall(r"<option[^>]*selected", org) == ['<option value="" selected']
    role = re.search(
        r'<select id="k-role"[^>]*>(.*?)</select>', web.client.get("/web/keys").text, re.S
    )
    assert "<option selected>admin" not in role.group(1)
    assert role.group(1).startswith('<option value="" selected disabled>')


def test_one_item_is_one_item(web: Web) -> None:
    # Issue 15: the home page said "1 items".
    from sqlalchemy import delete

    from keepdown.storage.tables_crawl import sightings
    from tests.web.seed import image_site, seed

    with image_site() as site:
        seeded = seed(web.services, web.ctx, site)
    web.sign_in_as(Role.ANALYST)
    with web.services.storage.engine.begin() as conn:  # one sighting waiting, not several
        conn.execute(delete(sightings).where(sightings.c.id != seeded.sighting_ids[0]))
    web.ctx.review.store.enqueue(web.clock.now())
    page = web.client.get("/web/").text
    assert "1 item waits for review." in page
    assert "1 items" not in page


def test_a_location_timeline_is_in_time_order_and_an_ended_one_has_no_next_check() -> None:
    # Issue 15: notice timelines were not in time order; a withdrawn location showed a
    # "Next check".
    from dataclasses import replace

    from keepdown.clock import utc
    from keepdown.notices.lifecycle import LocationState, LocationStatus
    from keepdown.web.pages.notices import timeline_of

    status = LocationStatus(
        state=LocationState.DISPUTED,
        detected_at=utc(2026, 7, 1),
        first_notice_at=utc(2026, 7, 2),
        last_notice_at=utc(2026, 7, 2),
        disputed_at=utc(2026, 7, 3),
        acknowledged_at=utc(2026, 7, 4),  # after the dispute: shown after it
        next_check_at=utc(2026, 7, 5),
    )
    times = [at for at, _field, _label in timeline_of(status)]
    assert times == sorted(times)
    assert [f for _at, f, _l in timeline_of(status)][-1] == "next_check_at"
    withdrawn = replace(status, state=LocationState.WITHDRAWN, reviewed_at=utc(2026, 7, 4, 12))
    assert "next_check_at" not in [f for _at, f, _l in timeline_of(withdrawn)]


def test_an_exact_match_names_no_picture_variant(web: Web) -> None:
    # Issue 15: an exact MD5 match was labelled variant "original" (variants are PDQ's
    # rotations and mirrors).
    from sqlalchemy import update

    from keepdown.storage.tables_crawl import sightings
    from tests.web.seed import image_site, seed

    with image_site() as site:
        seeded = seed(web.services, web.ctx, site)
    exact, near = seeded.sighting_ids[:2]
    with web.services.storage.engine.begin() as conn:
        conn.execute(
            update(sightings)
            .where(sightings.c.id == exact)
            .values(signal_type="md5", match_type="exact", distance=0, variant="original")
        )
    web.sign_in_as(Role.ANALYST)
    shown = web.client.get(f"/web/sightings/{exact}").text
    match = re.search(r"<dd>exact md5 (.*?)</dd>", shown, re.S)
    assert match, shown[:400]
    assert "original" not in match.group(1)
    assert re.search(r"<dd>near pdq .*?· \w", web.client.get(f"/web/sightings/{near}").text)
