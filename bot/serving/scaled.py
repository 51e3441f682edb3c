"""Configuration for running several Rasa and action servers behind HAProxy.

``scripts/run-scaled.sh`` (``make run-scaled``) calls this to check the shared
services, and to write the Rasa endpoints file and the HAProxy configuration,
so both are generated from one place and can be tested without starting
anything.
"""

from __future__ import annotations

import argparse
import socket
import sys

import yaml

# The clear reply a member of staff sees when no Rasa server could answer.
UNAVAILABLE_REPLY = (
    "The assistant is temporarily unavailable. Please try again in a minute; "
    "if it is urgent, follow your department's policy and ask the duty superintendent."
)


def endpoints(actions_url: str, redis_host: str, redis_port: int, redis_db: int = 1) -> dict:
    """Rasa endpoints for a scaled server: actions through the balancer, shared tracker and lock stores."""
    return {
        "action_endpoint": {
            "url": actions_url,
            "enable_selective_domain": True,  # actions never read it
            # the action servers refuse calls without it; Rasa fills it in from its environment
            "headers": {"Authorization": "Bearer ${ACTION_SERVER_TOKEN}"},
        },
        # DATABASE_URL picks the (shared PostgreSQL) database; see rasa_addons/tracker_store.py
        "tracker_store": {"type": "rasa_addons.tracker_store.RedactingSQLTrackerStore"},
        "lock_store": {
            "type": "redis",
            "url": redis_host,
            "port": redis_port,
            "db": redis_db,
            "key_prefix": "assistant",
        },
    }


def _servers(spec: str) -> list[int]:
    """``"2@5100"`` -> ports 5101 and 5102."""
    count, _, base = spec.partition("@")
    return [int(base) + i for i in range(1, int(count) + 1)]


def unavailable_body() -> str:
    """The REST reply (a JSON list of bot messages, as Rasa sends) when no server could answer."""
    import json

    custom = {"kind": "error", "intent": "unavailable", "reply": UNAVAILABLE_REPLY, "text": UNAVAILABLE_REPLY}
    return json.dumps([{"recipient_id": "", "text": UNAVAILABLE_REPLY, "custom": custom}])


def unavailable_errorfile() -> str:
    """The same reply as a whole HTTP response, for HAProxy's own 503 (no server up at all)."""
    body = unavailable_body().encode()
    return (
        "HTTP/1.0 503 Service Unavailable\r\nCache-Control: no-cache\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ) + body.decode()


def haproxy_config(
    bind: str, port: int, actions_port: int, stats_port: int, rasa: list[int], actions: list[int], run_dir: str
) -> str:
    """HAProxy: one front door for REST, conversations pinned to a Rasa server by sender id."""
    lines = [
        "global",
        "    log stdout format raw local0 info",
        "    maxconn 2000",
        "",
        "defaults",
        "    mode http",
        "    log global",
        "    option httplog",
        "    option http-buffer-request",  # the body (and its sender) is read before balancing
        "    option redispatch",  # a dead server's conversations move to a live one
        "    retries 2",
        "    retry-on conn-failure empty-response response-timeout 503",
        "    timeout connect 2s",
        "    timeout client 30s",
        "    timeout server 30s",
        "    timeout http-request 10s",
        "",
        "frontend rasa_front",
        f"    bind {bind}:{port}",
        "    http-request deny deny_status 413 if { req.body_size gt 16384 }",
        "    http-request set-var(txn.webhook) bool(true) if { path_beg /webhooks/ }",
        "    default_backend rasa",
        "",
        "backend rasa",
        # every message of one conversation goes to the same server while it is up
        "    balance hash req.body,json_query('$.sender')",
        "    hash-type consistent",
        "    option httpchk GET /",
        "    http-check expect status 200",
        # a server that fails mid-request gives the clear reply, never a raw 5xx page
        f"    http-response return status 503 content-type application/json file {run_dir}/unavailable.json "
        "if { status 500:599 } { var(txn.webhook) -m bool }",
        # Rasa answers "[]" when its action server failed: staff get the clear reply, not a blank
        "    http-response wait-for-body time 30s if { var(txn.webhook) -m bool }",
        f"    http-response return status 503 content-type application/json file {run_dir}/unavailable.json "
        "if { var(txn.webhook) -m bool } { res.body -m str [] }",
        f"    errorfile 503 {run_dir}/unavailable.http",
    ]
    lines += [f"    server rasa{i} 127.0.0.1:{p} check inter 1s fall 2 rise 2" for i, p in enumerate(rasa, 1)]
    lines += [
        "",
        "frontend actions_front",
        f"    bind 127.0.0.1:{actions_port}",
        "    default_backend actions",
        "",
        "backend actions",
        "    balance roundrobin",
        "    option httpchk GET /health",
        "    http-check expect status 200",
    ]
    lines += [f"    server actions{i} 127.0.0.1:{p} check inter 1s fall 2 rise 2" for i, p in enumerate(actions, 1)]
    lines += [
        "",
        "frontend stats",
        f"    bind 127.0.0.1:{stats_port}",
        "    stats enable",
        "    stats uri /stats",
        "    stats refresh 5s",
        "",
    ]
    return "\n".join(line for line in lines if line is not None)


def check_services(redis: str) -> list[str]:
    """Problems with the shared services, in words a newcomer can act on; creates the database if missing."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from bot import config

    problems = []
    url = make_url(config.database_url())
    if not url.drivername.startswith("postgresql"):
        problems.append(f"DATABASE_URL must be PostgreSQL for several servers (got {url.drivername})")
        return problems
    try:
        admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": url.database}).scalar()
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{url.database}"'))
        admin.dispose()
    except Exception as exc:  # noqa: BLE001 (any driver error means the same to the operator)
        problems.append(
            f"PostgreSQL at {url.host}:{url.port or 5432} is not reachable ({type(exc).__name__}); "
            "start it and check DATABASE_URL"
        )
    host, _, port = redis.partition(":")
    try:
        with socket.create_connection((host, int(port or 6379)), timeout=2) as s:
            s.sendall(b"PING\r\n")
            if not s.recv(16).startswith(b"+PONG"):
                problems.append(f"Redis at {redis} did not answer PING")
    except OSError as exc:
        problems.append(f"Redis at {redis} is not reachable ({exc.strerror or exc}); start redis-server")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.serving.scaled")
    sub = parser.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("endpoints")
    e.add_argument("--actions", required=True)
    e.add_argument("--redis", default="127.0.0.1:6379")
    h = sub.add_parser("haproxy")
    h.add_argument("--bind", default="127.0.0.1")
    h.add_argument("--port", type=int, default=5005)
    h.add_argument("--actions-port", type=int, default=5054)
    h.add_argument("--stats-port", type=int, default=8404)
    h.add_argument("--rasa", default="2@5100", help="COUNT@BASE_PORT")
    h.add_argument("--actions", default="2@5200", help="COUNT@BASE_PORT")
    h.add_argument("--run-dir", default="var/scaled", help="where the reply files are written")
    c = sub.add_parser("check-services")
    c.add_argument("--redis", default="127.0.0.1:6379")
    args = parser.parse_args(argv)
    if args.cmd == "endpoints":
        host, _, port = args.redis.partition(":")
        print(yaml.safe_dump(endpoints(args.actions, host, int(port or 6379)), sort_keys=False), end="")
    elif args.cmd == "haproxy":
        from pathlib import Path

        run_dir = Path(args.run_dir).resolve()
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "unavailable.json").write_text(unavailable_body())
        (run_dir / "unavailable.http").write_text(unavailable_errorfile())
        print(
            haproxy_config(
                args.bind,
                args.port,
                args.actions_port,
                args.stats_port,
                _servers(args.rasa),
                _servers(args.actions),
                str(run_dir),
            )
        )
    else:
        problems = check_services(args.redis)
        for p in problems:
            print(f"cannot start: {p}", file=sys.stderr)
        return 1 if problems else 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
