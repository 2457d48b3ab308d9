"""The API's reference page, ``/docs`` (Swagger UI), with no internet.

FastAPI's own pages load Swagger UI and ReDoc from a CDN, so ``/docs`` was a blank page on a
machine without internet (a hotline's isolated network, a strict proxy), and every visit told
the CDN about it. keepdown serves the assets from an installed package instead:
``fastapi-offline`` ships Swagger UI 5 (Apache-2.0, its licence applies to those files) in its
``static`` folder. Nothing is downloaded at run time. ``/redoc`` is not served: ReDoc's bundle
always loads its maker's logo from their CDN, whatever its options.

- ``/docs``: a small HTML page naming only this server's URLs;
- ``/docs/assets/<file>``: the package's files (an allow-list: nothing else under that folder,
  no path from the request reaches the file system), cached for a day;
- ``/docs/assets/keepdown-docs.js``: the start-up script, a file of its own rather than an
  inline script, so the pages also work under a ``script-src 'self'`` policy. It reads the
  OpenAPI document's address from the page (``data-openapi``), which honours ``root_path``.
"""

from __future__ import annotations

import html
import importlib.resources
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse

from keepdown.errors import NotFound

__all__ = ["ASSETS", "install_docs"]

_OWN = Path(__file__).with_name("static")
#: file name -> (folder, media type)
ASSETS: dict[str, tuple[str, str]] = {
    "swagger-ui-bundle.js": ("package", "text/javascript"),
    "swagger-ui.css": ("package", "text/css"),
    "favicon.png": ("package", "image/png"),
    "keepdown-docs.js": ("own", "text/javascript"),
}

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" href="{root}/docs/assets/favicon.png">
<link rel="stylesheet" href="{root}/docs/assets/swagger-ui.css">
</head>
<body><div id="swagger-ui" data-openapi="{root}{openapi}"></div>
<script src="{root}/docs/assets/swagger-ui-bundle.js"></script>
<script src="{root}/docs/assets/keepdown-docs.js"></script>
</body></html>
"""


def _package_folder() -> Path:
    return Path(str(importlib.resources.files("fastapi_offline") / "static"))


def _page(request: Request, app: FastAPI) -> HTMLResponse:
    root = html.escape(str(request.scope.get("root_path", "")).rstrip("/"), quote=True)
    text = _PAGE.format(
        title=html.escape(f"{app.title} - Swagger UI"),
        root=root,
        openapi=html.escape(app.openapi_url or "/openapi.json", quote=True),
    )
    return HTMLResponse(text, headers={"Cache-Control": "no-cache"})


def install_docs(app: FastAPI) -> None:
    """Serve ``/docs`` and its assets (the app is built with ``docs_url=None`` and
    ``redoc_url=None``, so FastAPI's CDN pages are not there)."""
    router = APIRouter(include_in_schema=False)
    package = _package_folder()

    @router.get("/docs")
    def swagger_ui(request: Request) -> HTMLResponse:
        return _page(request, app)

    @router.get("/docs/assets/{name}")
    def asset(name: str) -> FileResponse:
        if name not in ASSETS:
            raise NotFound(f"no documentation asset {name!r}")
        folder, media_type = ASSETS[name]
        path = (package if folder == "package" else _OWN) / name
        return FileResponse(path, media_type=media_type, headers={"Cache-Control": "max-age=86400"})

    app.include_router(router)
