"""Check a record against the schema keepdown keeps for it, before it is stored or sent.

- CyberTipline ``<report>`` and ``<fileDetails>``: ``schemas/cybertip.xsd`` (keepdown's own,
  written from NCMEC's public documentation), and NCMEC's own schema when a deployment fetched
  it with its credentials (``keepdown regulator ncmec schema``; :func:`xml_problems` takes any
  XSD file);
- DSA statements of reasons: ``schemas/dsa_statement.schema.json``, written from the
  Transparency Database's own validation rules;
- goAML reports: the FIU's own XSD, which an operator names (``keepdown.filings.goaml``).

Every check returns a list of plain sentences (empty: valid), so a CLI, an API answer and a
test can show exactly what is wrong; :func:`require_valid` turns them into one InvalidInput.
"""

from __future__ import annotations

import functools
import json
import re
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from keepdown.errors import ConfigurationError, InvalidInput

if TYPE_CHECKING:  # both are imported when first used: jsonschema's import alone takes seconds
    import jsonschema
    import xmlschema

__all__ = [
    "cybertip_schema",
    "require_valid",
    "statement_problems",
    "statement_schema",
    "xml_problems",
]

_MAX_PROBLEMS = 20


def _schema_path(name: str) -> Path:
    return Path(str(resources.files("keepdown.filings").joinpath("schemas", name)))


@functools.cache
def cybertip_schema() -> xmlschema.XMLSchemaBase:
    """keepdown's CyberTipline schema (``schemas/cybertip.xsd``), loaded once."""
    import xmlschema

    return xmlschema.XMLSchema10(str(_schema_path("cybertip.xsd")))


@functools.cache
def load_xsd(path: str) -> xmlschema.XMLSchemaBase:
    """Any XSD file (NCMEC's fetched schema, an FIU's goAML schema), loaded once per path.
    XSD 1.1 schemas (goAML's declare ``vc:minVersion="1.1"``) are read as 1.1."""
    import xmlschema

    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise ConfigurationError(f"cannot read the schema {path}: {exc.strerror}") from exc
    cls = xmlschema.XMLSchema11 if 'minVersion="1.1"' in text[:4000] else xmlschema.XMLSchema10
    try:
        if _GOAML_NS in text[:4000]:
            return cls(_dotnet_patterns(text), base_url=str(Path(path).parent))
        return cls(path)
    except (xmlschema.XMLSchemaException, ValueError) as exc:
        raise ConfigurationError(f"{path} is not a usable XML schema: {exc}") from exc


_GOAML_NS = "http://www.unodc.org/goaml"
_ANCHORED = re.compile(r'(<xs:pattern\s+value=")\^([^"]*)\$(")')


def _dotnet_patterns(text: str) -> str:
    """goAML schemas are written for .NET, whose patterns may be anchored (``^...$``); in an
    XSD pattern, which always matches the whole value, ``^`` and ``$`` are plain characters,
    so ``"^[a-zA-Z .'-]*$"`` would refuse every real name. The anchors are dropped, which reads
    the pattern as the FIU's own portal does."""
    return _ANCHORED.sub(r"\1\2\3", text)


def xml_problems(document: bytes, schema: xmlschema.XMLSchemaBase | None = None) -> list[str]:
    """Why ``document`` is not valid against ``schema`` (keepdown's CyberTipline schema by
    default); empty when it is."""
    import xmlschema

    checker = schema if schema is not None else cybertip_schema()
    problems = []
    try:
        for error in checker.iter_errors(document.decode("utf-8")):
            where = error.path or "/"
            problems.append(f"{where}: {error.reason or error.message}")
            if len(problems) >= _MAX_PROBLEMS:
                break
    except xmlschema.XMLSchemaException as exc:
        return [f"not well-formed XML: {exc}"]
    except Exception as exc:  # the XML parser's own errors (ElementTree ParseError and kin)
        return [f"not well-formed XML: {exc.__class__.__name__}: {exc}"]
    return problems


@functools.cache
def statement_schema() -> dict[str, Any]:
    """The statement-of-reasons JSON Schema (``schemas/dsa_statement.schema.json``)."""
    loaded: dict[str, Any] = json.loads(_schema_path("dsa_statement.schema.json").read_text())
    return loaded


@functools.cache
def _statement_validator() -> jsonschema.protocols.Validator:
    import jsonschema

    cls = jsonschema.validators.validator_for(statement_schema())
    validator: jsonschema.protocols.Validator = cls(
        statement_schema(), format_checker=cls.FORMAT_CHECKER
    )
    return validator


def statement_problems(statement: dict[str, Any]) -> list[str]:
    """Why ``statement`` would be refused by the Transparency Database; empty when valid."""
    problems = []
    for error in sorted(_statement_validator().iter_errors(statement), key=lambda e: list(e.path)):
        where = ".".join(str(p) for p in error.absolute_path) or "(statement)"
        message = error.message
        comment = error.schema.get("$comment") if isinstance(error.schema, dict) else None
        if error.validator in ("anyOf", "oneOf") and comment:
            message = str(comment)  # the rule's own words, not the whole statement
        problems.append(f"{where}: {message[:300]}")
        if len(problems) >= _MAX_PROBLEMS:
            break
    return problems


def require_valid(problems: list[str], what: str) -> None:
    """InvalidInput listing ``problems`` (when there are any) about ``what``."""
    if problems:
        raise InvalidInput(
            f"{what} is not valid: " + "; ".join(problems[:5]),
            problems=problems,
        )
