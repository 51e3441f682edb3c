"""``python -m bot web``: the ward-intranet chat page.

A small static server (standard library only) for the files in ``web/`` and
the NHS.UK frontend library installed under ``web/node_modules`` by
``npm ci --prefix web``. The page talks to the Rasa server's REST channel
directly (Rasa's ``--cors`` must list this page's origin); this server adds:

- ``/config.json``        where the page finds Rasa: ``{"rasaUrl": ...}``
- ``/api/clauses``        every citable clause (and local policy rule), for the "Why" panels
- ``/api/clauses/<id>``   one of them, e.g. ``/api/clauses/SoR-2019%205.6``
- ``/health``             ``{"status": "ok"}``

Nothing is fetched from the internet: the library's CSS is served with its
web-font rules (which point at an NHS CDN) removed, so the page falls back to
Arial, and a strict Content-Security-Policy keeps every request on this server
or the Rasa server.
"""

from __future__ import annotations

import argparse
import json
import os
import posixpath
import re
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

REPO = Path(__file__).resolve().parent.parent
WEB_ROOT = REPO / "web"
LIBRARY = Path("node_modules") / "nhsuk-frontend" / "dist" / "nhsuk"

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".map": "application/json; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".txt": "text/plain; charset=utf-8",
}
# The project's own files that the page may load from web/ (everything else there,
# package.json, node_modules, dotfiles, is not served).
OWN_FILES = {"index.html", "app.js", "app.css"}
# @font-face rules whose src is on another host (the compiled NHS.UK CSS points at a CDN).
_REMOTE_FONT_FACE = re.compile(r"@font-face\s*\{[^}]*url\(\s*['\"]?https?://[^}]*\}", re.IGNORECASE)


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of an absolute URL; '' for a relative one (same origin)."""
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}"
    return ""


def content_security_policy(rasa_url: str) -> str:
    connect = " ".join(x for x in ("'self'", origin_of(rasa_url)) if x)
    return "; ".join([
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "font-src 'self'",
        f"connect-src {connect}",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


class Clauses:
    """The knowledge base's clauses as JSON, loaded once (in the background at start-up)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, dict[str, Any]] | None = None
        self._aliases: dict[str, str] = {}
        self.error: str | None = None

    def _load(self) -> None:
        sys.modules.setdefault("tensorflow", None)  # type: ignore[arg-type]  # not needed; keeps import quick
        from bot.knowledge import LOCAL_PREFIX, KnowledgeError, load

        try:
            kb = load()
        except (KnowledgeError, OSError) as exc:
            self.error = str(exc)
            self._items = {}
            return
        items: dict[str, dict[str, Any]] = {}
        for c in kb.clauses.values():
            src = kb.sources.get(c.source)
            items[c.id] = {
                "id": c.id, "heading": c.heading, "summary": c.summary, "text": c.text,
                "source": c.source, "source_title": src.cited_title if src else c.source,
                "publisher": src.publisher if src else "", "status": src.status if src else "",
                "where": src.where if src else "", "secondary": c.secondary, "local": False,
                "successor": list(c.successor), "change": c.change,
            }
        if kb.policy:
            pol = kb.policy
            title = f"{pol.department} recording policy, version {pol.version}"
            for rule in pol.rules.values():
                items[rule.cite] = {
                    "id": rule.cite, "heading": rule.title, "summary": rule.title, "text": rule.text,
                    "source": LOCAL_PREFIX.strip(), "source_title": title, "publisher": pol.owner,
                    "status": "past review" if pol.is_past_review() else "current", "where": "",
                    "secondary": False, "local": True, "successor": list(rule.implements), "change": "",
                    "departs": rule.departs_from_national,
                }
        self._aliases = dict(kb.aliases)
        self._items = items

    def all(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            if self._items is None:
                self._load()
            return self._items or {}

    def get(self, cid: str) -> dict[str, Any] | None:
        items = self.all()
        cid = " ".join(cid.split())
        return items.get(cid) or items.get(self._aliases.get(cid, ""))


def _strip_remote_fonts(css: bytes) -> bytes:
    return _REMOTE_FONT_FACE.sub("", css.decode("utf-8")).encode("utf-8")


class Handler(BaseHTTPRequestHandler):
    server_version = "chat-page"
    # Set per server by make_server().
    root: Path = WEB_ROOT
    rasa_url: str = "http://localhost:5005"
    clauses: Clauses
    _css_cache: dict[Path, tuple[float, bytes]]

    # -- plumbing -----------------------------------------------------------------
    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (signature from the base class)
        if os.environ.get("WEB_QUIET"):
            return
        sys.stderr.write("%s - %s\n" % (self.address_string(), format % args))

    def _headers(self, status: int, ctype: str, length: int, cache: str = "no-cache") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(length))
        self.send_header("Cache-Control", cache)
        self.send_header("Content-Security-Policy", content_security_policy(self.rasa_url))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cross-Origin-Opener-Policy", "same-origin")
        self.send_header("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        self.end_headers()

    def _send(self, status: int, body: bytes, ctype: str, cache: str = "no-cache") -> None:
        self._headers(status, ctype, len(body), cache)
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, data: Any, status: int = HTTPStatus.OK) -> None:
        body = json.dumps(data, ensure_ascii=False).encode("utf-8")
        self._send(status, body, CONTENT_TYPES[".json"])

    def _error(self, status: int, message: str) -> None:
        self._send(status, (message + "\n").encode("utf-8"), CONTENT_TYPES[".txt"])

    # -- routes -------------------------------------------------------------------
    def do_HEAD(self) -> None:  # noqa: N802 (http.server naming)
        self.do_GET()

    def do_GET(self) -> None:  # noqa: N802
        path = urlsplit(self.path).path
        if path in ("/", "/index.html"):
            return self._file(self.root / "index.html")
        if path == "/config.json":
            return self._json({"rasaUrl": self.rasa_url})
        if path == "/health":
            return self._json({"status": "ok"})
        if path == "/favicon.ico":
            return self._file(self.root / LIBRARY / "assets" / "images" / "favicon.ico", cache="max-age=86400")
        if path == "/api/clauses":
            if self.clauses.all() == {} and self.clauses.error:
                return self._json({"error": "knowledge base could not be loaded"}, HTTPStatus.SERVICE_UNAVAILABLE)
            return self._json(list(self.clauses.all().values()))
        if path.startswith("/api/clauses/"):
            clause = self.clauses.get(unquote(path[len("/api/clauses/"):]))
            if clause is None:
                return self._json({"error": "no such clause"}, HTTPStatus.NOT_FOUND)
            return self._json(clause)
        # The library: /nhsuk/... and the absolute /assets/... its CSS refers to.
        for prefix, base in (("/nhsuk/", self.root / LIBRARY), ("/assets/", self.root / LIBRARY / "assets")):
            if path.startswith(prefix):
                target = _safe_join(base, path[len(prefix):])
                if target is None:
                    break
                return self._file(target, cache="max-age=3600")
        name = path.lstrip("/")
        if name in OWN_FILES:
            return self._file(self.root / name)
        return self._error(HTTPStatus.NOT_FOUND, "not found")

    def _method_not_allowed(self) -> None:
        self._error(HTTPStatus.METHOD_NOT_ALLOWED, "method not allowed")

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _method_not_allowed  # noqa: N815

    def _file(self, target: Path, cache: str = "no-cache") -> None:
        ctype = CONTENT_TYPES.get(target.suffix.lower())
        if ctype is None or not target.is_file():
            if target.name == "index.html" or self.root / LIBRARY in target.parents:
                if not (self.root / LIBRARY).is_dir():
                    return self._error(HTTPStatus.NOT_FOUND,
                                       "nhsuk-frontend is not installed: run `npm ci --prefix web`")
            return self._error(HTTPStatus.NOT_FOUND, "not found")
        if target.suffix == ".css" and self.root / LIBRARY in target.parents:
            body = self._library_css(target)
        else:
            body = target.read_bytes()
        self._send(HTTPStatus.OK, body, ctype, cache)

    def _library_css(self, target: Path) -> bytes:
        mtime = target.stat().st_mtime
        cached = self._css_cache.get(target)
        if cached and cached[0] == mtime:
            return cached[1]
        body = _strip_remote_fonts(target.read_bytes())
        self._css_cache[target] = (mtime, body)
        return body


def _safe_join(base: Path, rel: str) -> Path | None:
    """``base/rel`` if it stays inside ``base`` (no '..', no absolute paths, no dotfiles)."""
    rel = unquote(rel)
    if "\x00" in rel or "\\" in rel:
        return None
    norm = posixpath.normpath("/" + rel).lstrip("/")
    parts = [p for p in norm.split("/") if p]
    if not parts or any(p.startswith(".") for p in parts):
        return None
    target = (base / Path(*parts)).resolve()
    try:
        target.relative_to(base.resolve())
    except ValueError:
        return None
    return target


def make_server(port: int, rasa_url: str, root: Path = WEB_ROOT, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    clauses = Clauses()
    handler = type("ChatPageHandler", (Handler,), {
        "root": Path(root).resolve(), "rasa_url": rasa_url.rstrip("/"), "clauses": clauses, "_css_cache": {},
    })
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    # Load the knowledge base after the socket is listening, so start-up stays instant.
    threading.Thread(target=clauses.all, name="load-clauses", daemon=True).start()
    return server


def serve(port: int, rasa_url: str, root: Path = WEB_ROOT, host: str = "127.0.0.1") -> None:
    """Serve the chat page until interrupted."""
    server = make_server(port, rasa_url, root, host)
    if not (Path(root) / LIBRARY).is_dir():
        print(f"warning: {Path(root) / LIBRARY} is missing; run `npm ci --prefix web` for the NHS styles",
              file=sys.stderr, flush=True)
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0", "") else host
    print(f"Chat page on http://{shown}:{server.server_address[1]}/ (Rasa at {rasa_url})", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()


def cmd_web(args: argparse.Namespace) -> int:
    root = Path(args.root) if args.root else WEB_ROOT
    if not (root / "index.html").is_file():
        print(f"no index.html in {root}", file=sys.stderr)
        return 1
    try:
        serve(args.port, args.rasa, root, args.host)
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(f"cannot serve on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    return 0


def add_web_command(subparsers: Any) -> None:
    web = subparsers.add_parser("web", help="serve the chat page (NHS design system) on localhost")
    env_port = os.environ.get("WEB_PORT", "").strip()
    default_port = int(env_port) if env_port.isdigit() else 8080  # a bad value must not break other commands
    web.add_argument("--port", type=int, default=default_port,
                     help="port to listen on (default: $WEB_PORT or 8080)")
    web.add_argument("--rasa", default=os.environ.get("RASA_URL", "http://localhost:5005"),
                     help="the Rasa server as the browser reaches it (default: $RASA_URL or http://localhost:5005)")
    web.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: 127.0.0.1)")
    web.add_argument("--root", help=argparse.SUPPRESS)  # another web/ folder (tests)
    web.set_defaults(func=cmd_web)
