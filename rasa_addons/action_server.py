"""The Rasa SDK action server, locked down: ``python -m rasa_addons.action_server``.

Same options as ``rasa run actions`` (``--actions actions --port 5055``), and:

- it listens on ``SANIC_HOST``, default 127.0.0.1 (rasa_sdk's default is every interface);
- every request except ``GET /health`` must carry ``Authorization: Bearer <ACTION_SERVER_TOKEN>``,
  the header the Rasa server sends (``action_endpoint.headers`` in endpoints.yml); rasa_sdk 3.6
  has no token option of its own, so the check is a request middleware here;
- compressed bodies are refused (rasa_sdk inflates ``Content-Encoding: deflate`` with no size
  limit; Rasa only compresses when ``COMPRESS_ACTION_SERVER_REQUEST`` is set);
- request bodies are capped at ``SANIC_REQUEST_MAX_SIZE`` if set, else ``DEFAULT_MAX_BODY``:
  each call carries the whole conversation, so the cap is larger than the Rasa server's;
- an error answers ``{"error": "internal error"}`` instead of echoing the tracker back.
"""

from __future__ import annotations

import hmac
import logging
import os
import sys
from typing import Any

from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

logger = logging.getLogger(__name__)

TOKEN_ENV = "ACTION_SERVER_TOKEN"
MIN_TOKEN_CHARS = 32
DEFAULT_HOST = "127.0.0.1"
# Measured: one conversation of 40 answers is 650 KB (each turn carries its
# structured answer), so this is room for about 240; a session ends after 60
# minutes of silence and the page starts a new one for each situation.
DEFAULT_MAX_BODY = 4 * 1024 * 1024
OPEN_PATHS = frozenset({"/health"})


class TokenError(ValueError):
    """``ACTION_SERVER_TOKEN`` is missing or too short."""


def action_server_token() -> str:
    token = os.environ.get(TOKEN_ENV, "").strip()
    if len(token) < MIN_TOKEN_CHARS:
        raise TokenError(
            f"{TOKEN_ENV} must be set to a secret of at least {MIN_TOKEN_CHARS} characters "
            "(the same value the Rasa server sends; scripts/run.sh makes one per start)"
        )
    return token


def harden(app: Sanic, token: str) -> Sanic:
    """Add the token check, the body rules and a quiet error handler to rasa_sdk's app."""
    expected = f"Bearer {token}".encode()
    if "SANIC_REQUEST_MAX_SIZE" not in os.environ:
        app.config.REQUEST_MAX_SIZE = DEFAULT_MAX_BODY

    @app.middleware("request")
    async def _check(request: Request) -> HTTPResponse | None:
        if request.path in OPEN_PATHS and request.method in ("GET", "HEAD"):
            return None
        given = (request.headers.get("authorization") or "").encode("utf-8")
        if not hmac.compare_digest(given, expected):
            return response.json({"error": "unauthorised"}, status=401)
        encoding = (request.headers.get("content-encoding") or "identity").strip().lower()
        if encoding != "identity":
            return response.json({"error": "compressed bodies are not accepted"}, status=415)
        return None

    async def _error(request: Request, exception: Exception) -> HTTPResponse:
        status = getattr(exception, "status_code", 500) or 500
        if status >= 500:
            logger.error(
                "action server: %s while handling %s", type(exception).__name__, request.path, exc_info=exception
            )
        return response.json({"error": "internal error" if status >= 500 else str(exception)[:200]}, status=status)

    # Replaces rasa_sdk's handler, which puts the whole request (the tracker) in the reply.
    app.error_handler.add(Exception, _error)
    return app


def main(argv: list[str] | None = None) -> int:
    from rasa_sdk import utils
    from rasa_sdk.constants import APPLICATION_ROOT_LOGGER_NAME
    from rasa_sdk.endpoint import create_app, create_argument_parser, create_ssl_context

    args = create_argument_parser().parse_args(argv)
    try:
        token = action_server_token()
    except TokenError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    logging.getLogger("matplotlib").setLevel(logging.WARN)
    utils.configure_colored_logging(args.loglevel)
    utils.configure_file_logging(
        logging.getLogger(APPLICATION_ROOT_LOGGER_NAME), args.log_file, args.loglevel, args.logging_config_file
    )
    utils.update_sanic_log_level()

    app = harden(create_app(args.actions, cors_origins=args.cors, auto_reload=args.auto_reload), token)
    ssl_context = create_ssl_context(args.ssl_certificate, args.ssl_keyfile, args.ssl_password)
    host = os.environ.get("SANIC_HOST", DEFAULT_HOST)
    logger.info("Action server on %s://%s:%s", "https" if ssl_context else "http", host, args.port)
    run_kwargs: dict[str, Any] = {"ssl": ssl_context, "workers": utils.number_of_sanic_workers(), "access_log": False}
    app.run(host, args.port, **run_kwargs)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
