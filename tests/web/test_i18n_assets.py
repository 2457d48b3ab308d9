"""Catalogues are complete and compiled; templates hold no inline script or style; every web
file ships in the package (pyproject package-data)."""

from __future__ import annotations

import fnmatch
import re
import tomllib
from pathlib import Path

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from keepdown.auth import Role
from keepdown.web import STATIC_DIR
from keepdown.web.i18n import LOCALE_DIR, choose_language
from tests.web.conftest import Web

WEB = Path(STATIC_DIR).parent
REPO = WEB.parent.parent


def test_every_message_is_translated_to_french_and_compiled() -> None:
    template = read_po((LOCALE_DIR / "messages.pot").open("rb"))
    french = read_po((LOCALE_DIR / "fr/LC_MESSAGES/messages.po").open("rb"), locale="fr")
    compiled = read_mo((LOCALE_DIR / "fr/LC_MESSAGES/messages.mo").open("rb"))
    wanted = {m.id for m in template if m.id}
    assert wanted <= {m.id for m in french if m.id and m.string}
    assert {m.id: m.string for m in french if m.id} == {m.id: m.string for m in compiled if m.id}


def test_the_catalogue_template_has_every_text_of_the_templates() -> None:
    template = {m.id for m in read_po((LOCALE_DIR / "messages.pot").open("rb")) if m.id}
    found = set()
    for path in (WEB / "templates").rglob("*.html"):
        found |= set(re.findall(r'_\("([^"]+)"', path.read_text(encoding="utf-8")))
    assert found - template == set(), "run pybabel extract (docs/web.md)"


def test_no_inline_script_style_or_handler_in_templates() -> None:
    for path in (WEB / "templates").rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), path
        assert "<style" not in text, path
        assert not re.search(r'\sstyle="', text), path
        assert not re.search(r"\son[a-z]+=", text), path
        assert "hx-on" not in text, path


def test_every_web_file_is_package_data() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    globs = config["tool"]["setuptools"]["package-data"]["keepdown"]
    for path in WEB.rglob("*"):
        if path.is_dir() or path.suffix in (".py", ".pyc", ".cfg") or "__pycache__" in path.parts:
            continue
        relative = str(path.relative_to(WEB.parent))
        assert any(fnmatch.fnmatch(relative, g) for g in globs), relative


def test_language_choice_order() -> None:
    assert choose_language(user="fr", accept="en") == "fr"
    assert choose_language(cookie="fr", accept="en-GB,en;q=0.9") == "fr"
    assert choose_language(accept="de-DE,fr;q=0.8,en;q=0.5") == "fr"
    assert choose_language(accept="de", default="en") == "en"


def test_pages_in_french(web: Web) -> None:
    web.sign_in_as(Role.ANALYST)
    token = web.csrf(web.client.get("/web/").text)
    web.client.post(
        "/web/language", data={"lang": "fr", "back": "/web/review", "csrf_token": token}
    )
    page = web.client.get("/web/review").text
    assert '<html lang="fr">' in page
    assert "Rien à examiner" in page
    assert web.ctx.signin.store.get_user(web.users[Role.ANALYST]).language == "fr"
    assert ">Examen<" in page
    assert ">Review<" not in page
