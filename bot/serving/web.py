"""``python -m bot web``: the ward-intranet chat page.

A small static server (standard library only) for the files in ``web/`` and
the NHS.UK frontend library installed under ``web/node_modules`` by
``npm ci --prefix web``. The page talks to the Rasa server's REST channel
directly (Rasa's ``--cors`` must list this page's origin); this server adds:

- ``/``                   the chat page; when the trust has department policies, the list of
                          departments instead, each a link to its own page
- ``/d/<id>/``            the chat page for one department (the link a department puts on its intranet)
- ``/config.json``        what the page needs from the server and the core: where Rasa is, the
                          reset words and the "Not helpful" reasons (see :func:`page_config`);
                          ``?department=<id>`` adds that department, which the page sends with
                          each message as the REST ``metadata``
- ``/api/clauses``        every citable clause (and local policy rule), for the "Why" panels;
                          ``?department=<id>``: with that department's rules on top of the trust's
- ``/api/clauses/<id>``   one of them, e.g. ``/api/clauses/SoR-2019%205.6``
- ``/health``             ``{"status": "ok"}``
- ``/dashboard``          the policy leads' dashboard, when ``DASHBOARD_TOKEN`` is set (bot/serving/dashboard.py)

Nothing is fetched from the internet: the library's CSS is served with its
web-font rules (which point at an NHS CDN) removed, so the page falls back to
Arial, and a strict Content-Security-Policy keeps every request on this server
or the Rasa server.
"""

from __future__ import annotations

import argparse
import html
import json
import posixpath
import re
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from bot.answering.small_talk import RESET_WORDS
from bot.config import WEB_ROOT, settings
from bot.knowledge.models import LOCAL_PREFIX, Policy
from bot.records.reasons import LABELS as FEEDBACK_LABELS
from bot.records.reasons import MAX_COMMENT as FEEDBACK_COMMENT_MAX
from bot.records.reasons import REASONS as FEEDBACK_REASONS
from bot.serving.dashboard import Dashboard

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
# package.json, node_modules, dotfiles, is not served). The scripts are ES modules.
OWN_FILES = {"index.html", "app.css"} | {
    f"js/{name}.js" for name in ("main", "dom", "rasa-client", "answer-render", "record-copy", "feedback")
}
# /d/<id> and /d/<id>/ (or .../index.html): one department's page
_DEPARTMENT_PATH = re.compile(r"^/d/([a-z0-9]+(?:-[a-z0-9]+)*)(/|/index\.html)?$")
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
    return "; ".join(
        [
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
            # The page builds everything with textContent/createElement: the browser itself refuses
            # any HTML string put into the page (innerHTML and the like).
            "require-trusted-types-for 'script'",
            "trusted-types 'none'",
        ]
    )


def page_config(rasa_url: str, department: str = "", department_name: str = "") -> dict[str, Any]:
    """``/config.json``: where the browser finds Rasa, plus the lists the core owns, and the department
    the page is for (only one the knowledge base has)."""
    config: dict[str, Any] = {
        "rasaUrl": rasa_url,
        "reset_words": list(RESET_WORDS),
        "feedback_reasons": [{"code": code, "label": FEEDBACK_LABELS[code]} for code in FEEDBACK_REASONS],
        "feedback_comment_max": FEEDBACK_COMMENT_MAX,
    }
    if department and department_name:
        config["department"], config["department_name"] = department, department_name
    return config


class Clauses:
    """The knowledge base's clauses as JSON, loaded once (in the background at start-up)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, dict[str, Any]] | None = None
        self._aliases: dict[str, str] = {}
        self.departments: dict[str, str] = {}  # department id -> its name, in name order
        # each department's effective rules (its own on top of the trust's): asked for with ?department=
        self._department_items: dict[str, dict[str, dict[str, Any]]] = {}
        self.error: str | None = None

    def _load(self) -> None:
        sys.modules.setdefault("tensorflow", None)  # type: ignore[arg-type]  # not needed; keeps import quick
        from bot.knowledge import KnowledgeError, load
        from bot.knowledge.layers import effective

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
                "id": c.id,
                "heading": c.heading,
                "summary": c.summary,
                "text": c.text,
                "source": c.source,
                "source_title": src.cited_title if src else c.source,
                "publisher": src.publisher if src else "",
                "status": src.status if src else "",
                "where": src.where if src else "",
                "secondary": c.secondary,
                "local": False,
                "successor": list(c.successor),
                "change": c.change,
            }
        if kb.policy:
            items.update(_rule_items(kb.policy))
            self._department_items = {
                did: _rule_items(effective(kb.policy, dept)) for did, dept in kb.departments.items()
            }
        self.departments = {did: d.department for did, d in kb.departments.items()}
        self._aliases = dict(kb.aliases)
        self._items = items

    def all(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            if self._items is None:
                self._load()
            return self._items or {}

    def view(self, department: str = "") -> dict[str, dict[str, Any]]:
        """Every citable item as one department sees it (unknown or none: the trust's rules)."""
        items = self.all()
        own = self._department_items.get(department)
        if own is None:
            return items
        return {**{k: v for k, v in items.items() if not v["local"]}, **own}

    def get(self, cid: str, department: str = "") -> dict[str, Any] | None:
        items = self.view(department)
        cid = " ".join(cid.split())
        return items.get(cid) or items.get(self._aliases.get(cid, ""))


def _rule_items(policy: Policy) -> dict[str, dict[str, Any]]:
    """A policy's rules as /api/clauses items, each naming the file (layer) it comes from."""
    items = {}
    for rule in policy.rules.values():
        layer = next((f for f in policy.files if f.layer == rule.layer), policy)
        items[rule.cite] = {
            "id": rule.cite,
            "heading": rule.title,
            "summary": rule.title,
            "text": rule.text,
            "source": LOCAL_PREFIX.strip(),
            "source_title": f"{layer.department} recording policy ({rule.layer}), version {layer.version}",
            "publisher": layer.owner,
            "status": "past review" if layer.is_past_review() else "current",
            "where": "",
            "secondary": False,
            "local": True,
            "successor": list(rule.implements),
            "change": "",
            "departs": rule.departs_from_national,
            "layer": rule.layer,
        }
    return items


def _strip_remote_fonts(css: bytes) -> bytes:
    return _REMOTE_FONT_FACE.sub("", css.decode("utf-8")).encode("utf-8")


class Handler(BaseHTTPRequestHandler):
    server_version = "chat-page"
    # An idle or slow client is dropped after this many seconds, so it cannot hold a thread.
    timeout = 15
    # Set per server by make_server().
    root: Path = WEB_ROOT
    rasa_url: str = "http://localhost:5005"
    clauses: Clauses
    dashboard: Dashboard
    _css_cache: dict[Path, tuple[float, bytes]]

    # -- plumbing -----------------------------------------------------------------
    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (signature from the base class)
        if settings().web_quiet:
            return
        sys.stderr.write("%s - %s\n" % (self.address_string(), printable(format % args)))

    def _headers(
        self, status: int, ctype: str, length: int, cache: str = "no-cache", extra: dict[str, str] | None = None
    ) -> None:
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
        for name, value in (extra or {}).items():  # e.g. the dashboard's Location and Set-Cookie
            self.send_header(name, value)
        self.end_headers()

    def _send(
        self, status: int, body: bytes, ctype: str, cache: str = "no-cache", extra: dict[str, str] | None = None
    ) -> None:
        self._headers(status, ctype, len(body), cache, extra)
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, data: Any, status: int = HTTPStatus.OK) -> None:
        body = json.dumps(data, ensure_ascii=False).encode("utf-8")
        self._send(status, body, CONTENT_TYPES[".json"])

    def _error(self, status: int, message: str, extra: dict[str, str] | None = None) -> None:
        self._send(status, (message + "\n").encode("utf-8"), CONTENT_TYPES[".txt"], extra=extra)

    # -- routes -------------------------------------------------------------------
    def do_HEAD(self) -> None:  # noqa: N802 (http.server naming)
        self.do_GET()

    def do_GET(self) -> None:  # noqa: N802
        parts = urlsplit(self.path)
        path = parts.path
        department = parse_qs(parts.query).get("department", [""])[0]
        if self.dashboard.handles(path):
            return self.dashboard.get(self)
        if path == "/":
            if self._departments():
                return self._department_list()
            return self._file(self.root / "index.html")
        if path == "/index.html":  # the page with the trust's policy alone
            return self._file(self.root / "index.html")
        found = _DEPARTMENT_PATH.match(path)
        if found:
            return self._department_page(found.group(1), found.group(2))
        if path == "/config.json":
            name = self._departments().get(department, "")
            return self._json(page_config(self.rasa_url, department if name else "", name))
        if path == "/health":
            return self._json({"status": "ok"})
        if path == "/favicon.ico":
            return self._file(self.root / LIBRARY / "assets" / "images" / "favicon.ico", cache="max-age=86400")
        if path == "/api/clauses":
            if self.clauses.all() == {} and self.clauses.error:
                return self._json({"error": "knowledge base could not be loaded"}, HTTPStatus.SERVICE_UNAVAILABLE)
            return self._json(list(self.clauses.view(department).values()))
        if path.startswith("/api/clauses/"):
            clause = self.clauses.get(unquote(path[len("/api/clauses/") :]), department)
            if clause is None:
                return self._json({"error": "no such clause"}, HTTPStatus.NOT_FOUND)
            return self._json(clause)
        # The library: /nhsuk/... and the absolute /assets/... its CSS refers to.
        for prefix, base in (("/nhsuk/", self.root / LIBRARY), ("/assets/", self.root / LIBRARY / "assets")):
            if path.startswith(prefix):
                target = _safe_join(base, path[len(prefix) :])
                if target is None:
                    break
                return self._file(target, cache="max-age=3600")
        name = path.lstrip("/")
        if name in OWN_FILES:
            return self._file(self.root / name)
        return self._error(HTTPStatus.NOT_FOUND, "not found")

    def _departments(self) -> dict[str, str]:
        self.clauses.all()  # the knowledge base, loaded once
        return self.clauses.departments

    def _department_page(self, did: str, rest: str | None) -> None:
        if did not in self._departments():
            return self._error(HTTPStatus.NOT_FOUND, f"no department '{did}' here: see / for the list")
        if rest is None:  # /d/<id>: one address per page, with the slash
            return self._send(
                HTTPStatus.MOVED_PERMANENTLY, b"", CONTENT_TYPES[".txt"], extra={"Location": f"/d/{did}/"}
            )
        return self._file(self.root / "index.html")

    def _department_list(self) -> None:
        e = html.escape
        links = "".join(
            f'<li><a class="nhsuk-link" href="/d/{e(did)}/">{e(name)}</a></li>'
            for did, name in self._departments().items()
        )
        body = (
            '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            "<title>Recording in imaging: choose your department</title>"
            '<link rel="icon" href="/favicon.ico" sizes="48x48">'
            '<link rel="stylesheet" href="/nhsuk/nhsuk-frontend.min.css"><link rel="stylesheet" href="/app.css">'
            '</head><body><div class="nhsuk-width-container"><main class="nhsuk-main-wrapper" id="maincontent">'
            '<h1 class="nhsuk-heading-l">Recording in imaging: staff assistant</h1>'
            '<p class="nhsuk-body">Choose your department, so answers follow its own recording policy as well as '
            "the trust's. Bookmark its page, or link to it from your department's intranet.</p>"
            f'<ul class="nhsuk-list nhsuk-list--bullet" id="departments">{links}</ul>'
            '<p class="nhsuk-body">Not listed? <a class="nhsuk-link" href="/index.html">Use the trust-wide '
            "policy only</a>.</p>"
            '<p class="nhsuk-body-s">Guidance, not legal advice.</p></main></div></body></html>\n'
        )
        self._send(HTTPStatus.OK, body.encode("utf-8"), CONTENT_TYPES[".html"])

    def _method_not_allowed(self) -> None:
        self._error(HTTPStatus.METHOD_NOT_ALLOWED, "method not allowed", {"Allow": "GET, HEAD"})

    def do_POST(self) -> None:  # noqa: N802
        if self.dashboard.handles(urlsplit(self.path).path):
            return self.dashboard.post(self)
        return self._method_not_allowed()

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _method_not_allowed  # noqa: N815

    def _file(self, target: Path, cache: str = "no-cache") -> None:
        ctype = CONTENT_TYPES.get(target.suffix.lower())
        if ctype is None or not target.is_file():
            if target.name == "index.html" or self.root / LIBRARY in target.parents:
                if not (self.root / LIBRARY).is_dir():
                    return self._error(
                        HTTPStatus.NOT_FOUND, "nhsuk-frontend is not installed: run `npm ci --prefix web`"
                    )
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


def printable(text: str) -> str:
    """``text`` with control and other non-printable characters as ``\\xNN``/``\\uNNNN``,
    so a request line cannot put terminal escapes or fake lines into the log."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


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


def make_server(
    port: int, rasa_url: str, root: Path = WEB_ROOT, host: str = "127.0.0.1", https: bool = False
) -> ThreadingHTTPServer:
    clauses = Clauses()
    dashboard = Dashboard(settings().dashboard_token, Path(root).resolve(), https=https)
    handler = type(
        "ChatPageHandler",
        (Handler,),
        {
            "root": Path(root).resolve(),
            "rasa_url": rasa_url.rstrip("/"),
            "clauses": clauses,
            "_css_cache": {},
            "dashboard": dashboard,
        },
    )
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    # Load the knowledge base after the socket is listening, so start-up stays instant.
    threading.Thread(target=clauses.all, name="load-clauses", daemon=True).start()
    if dashboard.enabled:
        threading.Thread(target=dashboard.knowledge, name="load-dashboard-knowledge", daemon=True).start()
    return server


def serve(port: int, rasa_url: str, root: Path = WEB_ROOT, host: str = "127.0.0.1", https: bool = False) -> None:
    """Serve the chat page until interrupted."""
    server = make_server(port, rasa_url, root, host, https)
    if not (Path(root) / LIBRARY).is_dir():
        print(
            f"warning: {Path(root) / LIBRARY} is missing; run `npm ci --prefix web` for the NHS styles",
            file=sys.stderr,
            flush=True,
        )
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0", "") else host
    print(f"Chat page on http://{shown}:{server.server_address[1]}/ (Rasa at {rasa_url})", flush=True)
    if server.RequestHandlerClass.dashboard.enabled:  # type: ignore[attr-defined]
        print(f"Dashboard on http://{shown}:{server.server_address[1]}/dashboard", flush=True)
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
        port = args.port if args.port is not None else settings().web_port
        serve(port, args.rasa or settings().rasa_url, root, args.host, args.https)
    except ValueError as exc:  # a bad WEB_PORT, RASA_URL or DASHBOARD_TOKEN
        print(exc, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(f"cannot serve on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    return 0


def add_web_command(subparsers: Any) -> None:
    web = subparsers.add_parser("web", help="serve the chat page (NHS design system) on localhost")
    # defaults are read when the command runs, so a bad WEB_PORT cannot break the other commands
    web.add_argument("--port", type=int, default=None, help="port to listen on (default: $WEB_PORT or 8080)")
    web.add_argument(
        "--rasa",
        default=None,
        help="the Rasa server as the browser reaches it (default: $RASA_URL or http://localhost:5005)",
    )
    web.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: 127.0.0.1)")
    web.add_argument(
        "--https",
        action="store_true",
        help="the page is reached over HTTPS (a proxy in front): dashboard cookies get Secure",
    )
    web.add_argument("--root", help=argparse.SUPPRESS)  # another web/ folder (tests)
    web.set_defaults(func=cmd_web)
