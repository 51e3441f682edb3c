"""`make scale-test`: simulated staff against `make run-scaled`, with real faults.

Starts scripts/run-scaled.sh (HAProxy, N Rasa servers, M action servers,
PostgreSQL, Redis) on its own ports and database, then runs U simulated staff
for S seconds, each holding realistic conversations (a situation, the answer to
a clarifying question when one comes, a clause look-up, feedback). In the
middle it kills one Rasa server and one action server by their own pid (the
supervisor restarts them) and makes the database unavailable for 10 s (no new
connections allowed and every open one ended, on the real PostgreSQL server).

Pass: no failed request other than the clear "temporarily unavailable" reply,
no lost record (every answer given is in rec_answers once the outbox drains),
no conversation with missing or duplicated turns, and two messages of one
conversation sent at the same moment are each answered once (the lock store
works). The last line printed is the summary the issue asks for.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bot.serving.scaled import UNAVAILABLE_REPLY  # noqa: E402

SITUATIONS = [
    "relative started filming during setup",
    "found pt secretly recording in her bag",
    "parent wants a photo of the x-ray screen",
    "a clip of me is on TikTok",
    "husband filming on his phone during the exposure",
    "pt wants to audio record the consultant explaining her results",
    "someone is live streaming from the waiting room",
    "patient asked for a photo with the radiotherapy team on her last day",
]
LOOKUPS = ["what does 5.7 say", "SCoR point vi", "what's the rule about social media"]


@dataclass
class Tally:
    requests: int = 0
    errors: int = 0
    unavailable: int = 0
    latencies: list[float] = field(default_factory=list)
    answer_ids: set[str] = field(default_factory=set)
    turns: Counter = field(default_factory=Counter)      # sender -> user turns answered
    problems: list[str] = field(default_factory=list)


async def send(session: aiohttp.ClientSession, url: str, sender: str, message: str, tally: Tally) -> dict | None:
    """One REST message; the structured answer, or None when it was not answered."""
    tally.requests += 1
    started = time.perf_counter()
    try:
        async with session.post(url, json={"sender": sender, "message": message},
                                headers={"X-Conversation-Id": sender}) as resp:
            body = await resp.text()
            tally.latencies.append(time.perf_counter() - started)
            data = json.loads(body) if body else []
    except (aiohttp.ClientError, asyncio.TimeoutError, json.JSONDecodeError) as exc:
        tally.errors += 1
        tally.problems.append(f"{type(exc).__name__} for {message!r}")
        return None
    texts = [m.get("text") for m in data if isinstance(m, dict)]
    if UNAVAILABLE_REPLY in texts:
        tally.unavailable += 1
        return None
    if resp.status != 200:
        tally.errors += 1
        tally.problems.append(f"HTTP {resp.status} for {message!r}: {body[:120]}")
        return None
    customs = [m["custom"] for m in data if isinstance(m, dict) and "custom" in m]
    if not customs:
        tally.errors += 1
        tally.problems.append(f"no structured answer for {message!r}")
        return None
    tally.turns[sender] += 1
    answer = customs[-1]
    if answer.get("answer_id"):
        tally.answer_ids.add(answer["answer_id"])
    return answer


async def member_of_staff(url: str, deadline: float, tally: Tally, rng: random.Random) -> None:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        while time.monotonic() < deadline:
            sender = f"scale-{uuid.uuid4().hex}"
            answer = await send(session, url, sender, rng.choice(SITUATIONS), tally)
            if answer and answer.get("kind") == "clarify" and answer.get("options"):
                opt = answer["options"][0]
                await send(session, url, sender, "/inform" + json.dumps({opt["fact"]: opt["value"]}), tally)
            looked = await send(session, url, sender, rng.choice(LOOKUPS), tally)
            if looked and looked.get("answer_id"):
                vote = json.dumps({"answer_id": looked["answer_id"], "helpful": "yes"})
                await send(session, url, sender, "/feedback" + vote, tally)
            await asyncio.sleep(rng.uniform(0.2, 1.0))  # reading the answer


async def same_moment(url: str, tally: Tally) -> str:
    """Two messages of one conversation at once: each must be answered once, in some order."""
    sender = f"scale-pair-{uuid.uuid4().hex}"
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        await asyncio.gather(send(session, url, sender, "what does 5.7 say", tally),
                             send(session, url, sender, "what does 5.11 say", tally))
    return sender


def pid_of(run_dir: Path, name: str) -> int:
    return int((run_dir / f"{name}.pid").read_text().strip())


async def faults(run_dir: Path, db_url: str, start: float, seconds: float, log: list[str]) -> None:
    """Kill a Rasa and an action server by pid; make the database unavailable for 10 s."""
    await asyncio.sleep(seconds * 0.25)
    victim = pid_of(run_dir, "rasa-1")
    os.kill(victim, signal.SIGKILL)
    log.append(f"{time.monotonic() - start:5.1f}s killed rasa-1 (pid {victim})")
    await asyncio.sleep(seconds * 0.1)
    victim = pid_of(run_dir, "actions-1")
    os.kill(victim, signal.SIGKILL)
    log.append(f"{time.monotonic() - start:5.1f}s killed actions-1 (pid {victim})")
    await asyncio.sleep(seconds * 0.15)
    await asyncio.to_thread(database_available, db_url, False)
    log.append(f"{time.monotonic() - start:5.1f}s database unavailable")
    await asyncio.sleep(10)
    await asyncio.to_thread(database_available, db_url, True)
    log.append(f"{time.monotonic() - start:5.1f}s database back")


def database_available(db_url: str, allow: bool) -> None:
    """Refuse (or allow again) every connection to this database on the real server."""
    url = make_url(db_url)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'ALTER DATABASE "{url.database}" ALLOW_CONNECTIONS {"true" if allow else "false"}'))
        if not allow:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = :d AND pid <> pg_backend_pid()"), {"d": url.database})
    admin.dispose()


def fresh_database(db_url: str) -> None:
    url = make_url(db_url)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": url.database}).scalar()
        if exists:  # a run stopped mid-fault may have left connections refused
            conn.execute(text(f'ALTER DATABASE "{url.database}" ALLOW_CONNECTIONS true'))
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{url.database}"'))
    admin.dispose()


def check_store(db_url: str, tally: Tally, pair_sender: str, sender_key: bytes) -> tuple[int, int, list[str]]:
    """(lost records, conversations with missing or duplicated turns, details)."""
    import hashlib
    import hmac

    def pseudonym(sender: str) -> str:  # as rasa_addons.tracker_store stores it
        return "p-" + hmac.new(sender_key, sender.encode(), hashlib.sha256).hexdigest()[:32]

    engine = create_engine(db_url)
    details: list[str] = []
    with engine.connect() as conn:
        stored = set(conn.execute(text("SELECT id FROM rec_answers")).scalars())
        rows = conn.execute(text("SELECT sender_id, type_name, data FROM events ORDER BY id")).all()
    engine.dispose()
    lost = tally.answer_ids - stored
    if lost:
        details.append(f"{len(lost)} answers given but not in rec_answers, e.g. {sorted(lost)[:3]}")
    users: Counter = Counter()
    answers: Counter = Counter()
    for sender_id, kind, data in rows:
        if kind == "user":
            users[sender_id] += 1
        elif kind == "action" and json.loads(data).get("name") == "action_answer":
            answers[sender_id] += 1
    bad = 0
    for sender, answered in tally.turns.items():
        key = pseudonym(sender)
        # every answered turn is stored once; a turn that was refused as unavailable may be absent
        if users[key] < answered or answers[key] > users[key]:
            bad += 1
            details.append(f"conversation {key}: {answered} answered, {users[key]} user turns stored, "
                           f"{answers[key]} answers stored")
    pair = pseudonym(pair_sender)
    if tally.turns[pair_sender] == 2 and (users[pair] != 2 or answers[pair] != 2):
        bad += 1
        details.append(f"two messages sent together: {users[pair]} turns and {answers[pair]} answers stored")
    return len(lost), bad, details


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--rasa", type=int, default=2)
    parser.add_argument("--actions", type=int, default=2)
    parser.add_argument("--port", type=int, default=5305)
    parser.add_argument("--database", default="postgresql+psycopg2://postgres@127.0.0.1:5432/assistant_scale_test")
    args = parser.parse_args()

    run_dir = REPO / "var" / "scale-test"
    fresh_database(args.database)
    env = dict(os.environ, DATABASE_URL=args.database, RUN_DIR=str(run_dir), LB_PORT=str(args.port),
               ACTIONS_LB_PORT=str(args.port + 1), RASA_BASE_PORT=str(args.port + 100),
               ACTIONS_BASE_PORT=str(args.port + 200), WEB_PORT=str(args.port + 2), STATS_PORT=str(args.port + 3),
               RASA_SERVERS=str(args.rasa), ACTION_SERVERS=str(args.actions),
               RECORDS_OUTBOX=str(run_dir / "outbox.jsonl"), SENDER_ID_KEY=uuid.uuid4().hex + uuid.uuid4().hex)
    (run_dir / "ready").unlink(missing_ok=True)
    servers = subprocess.Popen(["bash", "scripts/run-scaled.sh"], cwd=REPO, env=env, start_new_session=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 600
        while not (run_dir / "ready").exists():
            if servers.poll() is not None or time.monotonic() > deadline:
                print(servers.stdout.read() if servers.stdout else "", file=sys.stderr)
                print("scale: the servers did not start", file=sys.stderr)
                return 1
            time.sleep(1)
        url = f"http://127.0.0.1:{args.port}/webhooks/rest/webhook"
        tally, fault_log = Tally(), []

        async def run() -> str:
            start = time.monotonic()
            rngs = [random.Random(i) for i in range(args.users)]
            users = [member_of_staff(url, start + args.seconds, tally, r) for r in rngs]
            pair = asyncio.ensure_future(same_moment(url, tally))
            await asyncio.gather(*users, faults(run_dir, args.database, start, args.seconds, fault_log))
            return await pair

        pair_sender = asyncio.run(run())
        for line in fault_log:
            print(line)
        flush = subprocess.run([str(REPO / ".venv/bin/python"), "-m", "bot", "records", "flush", "--db", args.database],
                               cwd=REPO, env=env, capture_output=True, text=True)
        print(flush.stdout.strip() or flush.stderr.strip())
        lost, duplicated, details = check_store(args.database, tally, pair_sender, env["SENDER_ID_KEY"].encode())
    finally:
        os.killpg(servers.pid, signal.SIGTERM)
        try:
            servers.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(servers.pid, signal.SIGKILL)
        database_available(args.database, True)
    lat = sorted(tally.latencies) or [0.0]
    p50, p95 = lat[len(lat) // 2], lat[int(len(lat) * 0.95)]
    print(f"requests {tally.requests}, answered {sum(tally.turns.values())}, "
          f"'temporarily unavailable' {tally.unavailable}, errors {tally.errors}, "
          f"p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, records checked {len(tally.answer_ids)}")
    for line in (tally.problems[:10] + details[:10]):
        print("  " + line)
    print(f"scale: {args.rasa} rasa × {args.actions} actions, {args.users} users × {args.seconds:.0f} s, "
          f"{tally.requests} requests, {tally.errors} errors, {lost} lost records, {duplicated} duplicated turns")
    return 0 if tally.errors == 0 and lost == 0 and duplicated == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
