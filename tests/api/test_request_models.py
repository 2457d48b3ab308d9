"""Every request body refuses fields it does not know (issue 15): ``POST /api/v1/banks`` took
``{"trsut": "auto", "clasification": "csam"}`` with 201 and ignored both, so a typo silently
became the default. Each body model (and every model nested in one) forbids extra fields, and
the 400 names them."""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel, RootModel

from keepdown.api import api_routes
from keepdown.auth import Role
from tests.api.conftest import Api


def _models(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        found = [annotation]
        for field in annotation.model_fields.values():
            found += _models(field.annotation)
        return found
    origin = typing.get_origin(annotation)
    if origin is not None or isinstance(annotation, types.UnionType):
        return [m for arg in typing.get_args(annotation) for m in _models(arg)]
    return []


def body_models() -> dict[str, type[BaseModel]]:
    found: dict[str, type[BaseModel]] = {}
    for route in api_routes():
        for param in route.dependant.body_params:
            for model in _models(param.field_info.annotation):
                found[f"{model.__module__}.{model.__qualname__}"] = model
    return found


def test_every_request_model_forbids_unknown_fields() -> None:
    models = body_models()
    assert len(models) > 20
    lax = sorted(
        name
        for name, m in models.items()
        if m.model_config.get("extra") != "forbid"
        and not issubclass(m, RootModel)  # a mapping of any keys by design (HMA's compare)
    )
    assert lax == []


def test_a_misspelt_field_is_a_400_naming_it(api: Api) -> None:
    made = api.client.post(
        "/api/v1/banks",
        json={"name": "typo", "trsut": "auto", "clasification": "csam"},
        headers=api.auth(Role.ADMIN),
    )
    assert made.status_code == 400, made.text
    fields = {e["field"] for e in made.json()["details"]["errors"]}
    assert fields == {"body.trsut", "body.clasification"}


def test_the_cli_and_the_api_name_the_label_alike(tmp_path) -> None:
    from click.testing import CliRunner

    from keepdown.cli import cli

    base = ["--data-dir", str(tmp_path / "d")]
    runner = CliRunner()
    runner.invoke(cli, [*base, "org", "add", "local"])  # the operator's (it may exist already)
    for name, option in (("a", "--label"), ("b", "--classification")):  # the old name stays
        made = runner.invoke(cli, [*base, "bank", "create", name, option, "csam"])
        assert made.exit_code == 0, made.output
    shown = runner.invoke(cli, [*base, "bank", "list", "--format", "json"])
    assert shown.exit_code == 0, shown.output
    assert '"label": "csam"' in shown.output
