"""The dashboard, served by the HTTP app: ``/dashboard/`` (the page) and ``/dashboard/assets/…``.

No build step: the files of this folder are served as they are, joined into one stylesheet and one script
(``bundles``). Each asset's URL carries a hash of its content (``dashboard-bundle.3f2a9c01b2.js``), so it
is cached for a year and a new version is a new URL; the page itself is revalidated (ETag). Assets are
gzip-compressed once at start. Every response of the dashboard carries a Content-Security-Policy that allows
only the dashboard's own files and connections to its own origin.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from importlib import resources
from importlib.util import find_spec

import attrs
from sanic import Blueprint, Request, Sanic
from sanic.response import HTTPResponse, redirect

#: Served files, in the order the page loads them (styles, then scripts: libraries, the shared layer, every
#: view of ``views/`` (each registers itself), then the shell that draws them).
STYLES = ("vendor/uPlot.min.css", "charts.css", "dashboard.css", "views.css")
LIBRARIES = (
    "vendor/htm-preact-standalone.umd.js",
    "vendor/uPlot.iife.min.js",
    "labels.js",
    "charts.js",
    "core.js",
    "live.js",
)
SHELL = "app.js"
CONTENT_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}

POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
IMMUTABLE = "public, max-age=31536000, immutable"


@attrs.frozen
class Asset:
    name: str
    url: str
    body: bytes
    gzipped: bytes
    content_type: str


def _labels_script() -> bytes:
    """``labels.js``: the CLI's human labels with units (``entrypoints.presenters.labels``), served, not copied."""
    from entrypoints.presenters.labels import dashboard_labels

    return b"window.GptLabels = " + json.dumps(dashboard_labels(), ensure_ascii=False).encode("utf-8") + b";\n"


#: Served files generated at start rather than read from this folder.
GENERATED = {"labels.js": _labels_script}


def _read(name: str) -> bytes:
    if name in GENERATED:
        return GENERATED[name]()
    return resources.files("entrypoints").joinpath("dashboard", *name.split("/")).read_bytes()


def scripts() -> tuple[str, ...]:
    """The page's scripts in load order; views are found in ``views/`` (sorted by file name)."""
    folder = resources.files("entrypoints").joinpath("dashboard", "views")
    views = sorted(f"views/{entry.name}" for entry in folder.iterdir() if entry.name.endswith(".js"))
    return (*LIBRARIES, *views, SHELL)


#: Loaded on its own before the bundle: it starts the Overview's requests while the bundle downloads.
BOOT = "boot.js"


def bundles() -> dict[str, tuple[str, ...]]:
    """The page loads one stylesheet and one script (after ``boot.js``): the files above joined in order.
    Seventeen small requests cost a cold load more than their bytes (a browser opens six connections per
    host, and each request is Python work for a server that is also running sessions)."""
    return {"dashboard-bundle.css": STYLES, "dashboard-bundle.js": scripts(), BOOT: (BOOT,)}


def _bundle(name: str, parts: tuple[str, ...]) -> bytes:
    """``parts`` joined, each after a comment naming its file (a script also ends with ``;``, so a file without
    a final semicolon cannot merge with the next); one file is served as it is."""
    if parts == (name,):
        return _read(name)
    tail = b"\n;\n" if name.endswith(".js") else b"\n"
    return b"".join(b"/* ---- " + part.encode() + b" ---- */\n" + _read(part) + tail for part in parts)


def load_assets() -> dict[str, Asset]:
    """The served files by hashed file name (``dashboard-bundle.19c8d4c6ad.js``)."""
    assets = {}
    for name, parts in bundles().items():
        body = _bundle(name, parts)
        stem, dot, ext = name.rpartition(".")
        hashed = f"{stem}.{hashlib.sha256(body).hexdigest()[:10]}{dot}{ext}"
        assets[hashed] = Asset(
            name, f"/dashboard/assets/{hashed}", body, gzip.compress(body, 9, mtime=0), CONTENT_TYPES[dot + ext]
        )
    return assets


def render_page(assets: dict[str, Asset], *, auth: bool) -> bytes:
    """``index.html`` with its ``{{ name }}`` placeholders replaced by the hashed URLs, and ``{{ auth }}`` by
    on/off (with auth off the page skips the login: every request is the local admin)."""
    page = _read("index.html").decode("utf-8").replace("{{ auth }}", "on" if auth else "off")
    for asset in assets.values():
        page = page.replace("{{ " + asset.name + " }}", asset.url)
    if "{{" in page:
        raise ValueError("index.html names a file the dashboard does not serve: " + page[page.index("{{") :][:60])
    return page.encode("utf-8")


def _send(
    request: Request, body: bytes, gzipped: bytes | None, content_type: str, cache: str, etag: str
) -> HTTPResponse:
    headers = {"Cache-Control": cache, "ETag": etag, "Content-Security-Policy": POLICY, "Vary": "Accept-Encoding"}
    if request.headers.get("if-none-match") == etag:
        return HTTPResponse(status=304, headers=headers)
    if gzipped is not None and "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        body = gzipped
    return HTTPResponse(body, headers=headers, content_type=content_type)


@attrs.frozen
class Page:
    body: bytes
    gzipped: bytes
    etag: str


def _page(assets: dict[str, Asset], *, auth: bool) -> Page:
    body = render_page(assets, auth=auth)
    return Page(body, gzip.compress(body, 9, mtime=0), '"' + hashlib.sha256(body).hexdigest()[:16] + '"')


def auth_enabled(app: Sanic) -> bool:
    """Whether the auth layer is installed on ``app`` and on (asked per request: install order is free)."""
    config = getattr(app.ctx, "auth_config", None)
    return bool(config is not None and config.enabled)


def blueprint() -> Blueprint:
    """The dashboard's routes (files read and compressed now, once)."""
    assets = load_assets()
    pages = {auth: _page(assets, auth=auth) for auth in (False, True)}
    bp = Blueprint("dashboard", url_prefix="/dashboard")

    @bp.get("", ctx_role="public", strict_slashes=True, name="dashboard_bare")
    async def bare(request: Request) -> HTTPResponse:
        return redirect("/dashboard/")

    @bp.get("/", ctx_role="public", strict_slashes=True)
    async def index(request: Request) -> HTTPResponse:
        page = pages[auth_enabled(request.app)]
        return _send(request, page.body, page.gzipped, "text/html; charset=utf-8", "no-cache", page.etag)

    @bp.get("/assets/<file:str>", ctx_role="public")
    async def asset(request: Request, file: str) -> HTTPResponse:
        found = assets.get(file)
        if found is None:
            return HTTPResponse("no such dashboard file\n", status=404, content_type="text/plain; charset=utf-8")
        etag = '"' + file.split(".")[-2] + '"'
        return _send(request, found.body, found.gzipped, found.content_type, IMMUTABLE, etag)

    return bp


def install_dashboard(app: Sanic) -> None:
    """Mount the dashboard on ``app`` (``/dashboard/``) and, where the auth layer exists, the browser's
    cookie login (``/api/v1/auth/cookie/*``, see ``session``)."""
    app.blueprint(blueprint())
    if find_spec("entrypoints.http.auth") is not None:
        from entrypoints.dashboard.session import blueprint as cookie_login

        app.blueprint(cookie_login())
