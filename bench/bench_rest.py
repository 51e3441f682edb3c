"""`make bench`: this assistant against a stock Rasa bot, both over REST on loopback.

    .venv/bin/python bench/bench_rest.py [--quick] [--no-train]

1. Trains a stock bot once (`rasa init --no-prompt` into build/bench/stock, same venv).
2. Starts the stock bot (`rasa run`, in-memory tracker) and this assistant exactly as
   `make run` starts it (scripts/run.sh, on free ports, with a temporary var dir, so a
   fresh SQLite database), one after the other, never both at once.
3. Drives each through the REST channel with the same asyncio + aiohttp load generator:
   sequential latency, N concurrent users (throughput, p50/p95), latency by turn number
   in long conversations, time until the first reply after start, memory (RSS and PSS
   of every process of the bot, from /proc), and `rasa train` time (forced, temp dir).
4. Prints one table with both bots' figures and the ratios from this run, and writes
   results/bench/bench.json and results/bench/bench.png.

Figures only: no test asserts a timing. The machine is shared, so compare ratios
within one run; the load average at start and end is recorded with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp

REPO = Path(__file__).resolve().parent.parent
RASA = str(REPO / ".venv" / "bin" / "rasa")
STOCK_DIR = REPO / "build" / "bench" / "stock"
OUT_DIR = REPO / "results" / "bench"

# Realistic staff messages: situations (some lead to a clarifying question, whose
# answer then comes as a plain reply), clause look-ups, small talk.
OURS_MESSAGES = [
    "relative started filming during setup",
    "yes",
    "what does SoR 5.10 say",
    "found pt secretly recording in her bag",
    "parent wants a photo of the x-ray screen",
    "SCoR point vi",
    "husband filming on his phone during the exposure",
    "no",
    "pt wants to audio record the consultant explaining her results",
    "what's the rule about social media",
    "someone is live streaming from the waiting room",
    "a clip of me is on TikTok",
    "thanks",
    "patient asked for a photo with the radiotherapy team on her last day",
    "what does GMC 8 say",
]
# The stock bot's own intents (rasa init's data/nlu.yml).
STOCK_MESSAGES = [
    "hi", "I am great", "hello there", "I am sad", "yes", "no", "good morning",
    "very good", "are you a bot?", "not good", "of course", "goodbye", "perfect",
    "extremely sad", "bye",
]
TURNS_PER_CONVERSATION = 5  # for the sequential and concurrent runs


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


# --- processes -----------------------------------------------------------------

def process_tree(root: int) -> list[int]:
    """root and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def memory_mb(root: int) -> dict[str, Any]:
    """Summed RSS and PSS (shared pages split between processes) of the tree, in MB."""
    rss = pss = 0
    per: list[tuple[str, float]] = []
    for pid in process_tree(root):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:80]
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        kb = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
        pkb = next((int(line.split()[1]) for line in rollup.splitlines() if line.startswith("Pss:")), 0)
        rss += kb
        pss += pkb
        per.append((cmd.strip(), round(kb / 1024, 1)))
    return {"rss_mb": round(rss / 1024, 1), "pss_mb": round(pss / 1024, 1), "processes": per}


class Bot:
    """One bot under test: how to start it, its REST URL and its messages."""

    def __init__(self, name: str, cmd: list[str], cwd: Path, env: dict[str, str], port: int,
                 messages: list[str], log: Path) -> None:
        self.name, self.cmd, self.cwd, self.env, self.port = name, cmd, cwd, env, port
        self.messages, self.log = messages, log
        # `rasa init`'s bot is trained without a seed and may choose to say nothing (e.g. after
        # "goodbye"): an empty list is still its reply. Ours must always answer.
        self.empty_ok = name == "stock"
        self.proc: subprocess.Popen | None = None
        self.url = f"http://127.0.0.1:{port}/webhooks/rest/webhook"

    def start(self) -> float:
        """Start and return seconds until the first REST message is answered."""
        started = time.monotonic()
        self.proc = subprocess.Popen(self.cmd, cwd=self.cwd, env=self.env, stdout=self.log.open("w"),
                                     stderr=subprocess.STDOUT, start_new_session=True)
        asyncio.run(self._wait_ready(started))
        return time.monotonic() - started

    async def _wait_ready(self, started: float) -> None:
        async with aiohttp.ClientSession() as session:
            while time.monotonic() - started < 900:
                if self.proc is not None and self.proc.poll() is not None:
                    raise SystemExit(f"{self.name} exited; see {self.log}")
                try:
                    async with session.post(self.url, json={"sender": "ready-" + uuid.uuid4().hex[:8],
                                                            "message": self.messages[0]},
                                            timeout=aiohttp.ClientTimeout(total=30)) as r:
                        if r.status == 200 and await r.json():
                            return
                except (aiohttp.ClientError, asyncio.TimeoutError):
                    pass
                await asyncio.sleep(0.1)
        raise SystemExit(f"{self.name} not ready within 900 s; see {self.log}")

    def stop(self) -> None:
        if self.proc is None:
            return
        try:  # the group this script created (run.sh stops its own children on TERM)
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc = None


# --- load generator ----------------------------------------------------------

async def send(session: aiohttp.ClientSession, bot: Bot, sender: str, text: str) -> float:
    t = time.perf_counter()
    async with session.post(bot.url, json={"sender": sender, "message": text}) as r:
        body = await r.json()
        if r.status != 200 or not isinstance(body, list) or not (body or bot.empty_ok):
            raise RuntimeError(f"bad reply {r.status}: {str(body)[:200]}")
    return (time.perf_counter() - t) * 1000


async def users(bot: Bot, n_users: int, seconds: float, max_messages: int) -> dict[str, Any]:
    """n_users each holding short conversations back to back for `seconds`."""
    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(limit=n_users + 2)
    timeout = aiohttp.ClientTimeout(total=60)

    async def user(i: int) -> None:
        nonlocal errors
        k = i * 3
        while time.monotonic() < deadline and len(latencies) < max_messages:
            sender = f"bench-{uuid.uuid4().hex[:12]}"
            for _ in range(TURNS_PER_CONVERSATION):
                if time.monotonic() >= deadline:
                    break
                try:
                    latencies.append(await send(session, bot, sender, bot.messages[k % len(bot.messages)]))
                except Exception:  # noqa: BLE001 - counted, the run goes on
                    errors += 1
                k += 1

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        started = time.monotonic()
        await asyncio.gather(*(user(i) for i in range(n_users)))
        elapsed = time.monotonic() - started
    return {"users": n_users, "messages": len(latencies), "errors": errors, "seconds": round(elapsed, 2),
            "throughput": round(len(latencies) / elapsed, 2), "p50_ms": round(pct(latencies, 0.5), 1),
            "p95_ms": round(pct(latencies, 0.95), 1)}


async def by_turn(bot: Bot, conversations: int, turns: int) -> dict[str, Any]:
    """Latency of turn 1..turns, each a median over `conversations` sequential conversations."""
    per_turn: list[list[float]] = [[] for _ in range(turns)]
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        for c in range(conversations):
            sender = f"bench-long-{uuid.uuid4().hex[:10]}"
            for t in range(turns):
                per_turn[t].append(await send(session, bot, sender, bot.messages[(c + t) % len(bot.messages)]))
    medians = [round(statistics.median(v), 1) for v in per_turn]
    first = statistics.median([x for v in per_turn[:3] for x in v])
    last = statistics.median([x for v in per_turn[-3:] for x in v])
    return {"turns": turns, "conversations": conversations, "p50_by_turn_ms": medians,
            "p50_first3_ms": round(first, 1), "p50_last3_ms": round(last, 1),
            "p50_turn1_ms": medians[0], f"p50_turn{turns}_ms": medians[-1]}


def measure(bot: Bot, args: argparse.Namespace) -> dict[str, Any]:
    print(f"[{bot.name}] starting (load {load()})", flush=True)
    ready = bot.start()
    print(f"[{bot.name}] ready after {ready:.1f} s", flush=True)
    try:
        result: dict[str, Any] = {"ready_s": round(ready, 2), "memory_ready": memory_mb(bot.proc.pid)}
        asyncio.run(users(bot, 1, 3, 20))  # warm-up: first calls load lazy parts
        result["sequential"] = asyncio.run(users(bot, 1, args.seconds, args.seq_messages))
        print(f"[{bot.name}] sequential {result['sequential']}", flush=True)
        result["concurrency"] = []
        for n in args.levels:
            r = asyncio.run(users(bot, n, args.seconds, 100_000))
            result["concurrency"].append(r)
            print(f"[{bot.name}] {n} users {r}", flush=True)
        result["length"] = asyncio.run(by_turn(bot, args.conversations, args.turns))
        print(f"[{bot.name}] by turn: first3 {result['length']['p50_first3_ms']} ms, "
              f"last3 {result['length']['p50_last3_ms']} ms", flush=True)
        result["memory"] = memory_mb(bot.proc.pid)
    finally:
        bot.stop()
    return result


# --- training -------------------------------------------------------------------

def ensure_stock() -> None:
    if (STOCK_DIR / "models").is_dir() and any((STOCK_DIR / "models").glob("*.tar.gz")):
        return
    STOCK_DIR.mkdir(parents=True, exist_ok=True)
    print("training the stock bot once (rasa init --no-prompt)...", flush=True)
    subprocess.run([RASA, "init", "--no-prompt", "--init-dir", str(STOCK_DIR)], cwd=STOCK_DIR, check=True,
                   stdout=subprocess.DEVNULL, env=base_env())


def time_train(cwd: Path, extra: list[str]) -> float:
    with tempfile.TemporaryDirectory() as out:
        started = time.monotonic()
        subprocess.run([RASA, "train", "--force", "--out", out, *extra], cwd=cwd, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=base_env())
        return round(time.monotonic() - started, 1)


def base_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(RASA_TELEMETRY_ENABLED="false", SQLALCHEMY_SILENCE_UBER_WARNING="1")
    env.pop("DATABASE_URL", None)  # ours: the default SQLite file, as `make run`
    return env


# --- report -------------------------------------------------------------------

def rows(stock: dict[str, Any], ours: dict[str, Any], turns: int, top: int) -> list[tuple[str, float, float, str]]:
    def level(r: dict[str, Any], n: int) -> dict[str, Any]:
        return next(x for x in r["concurrency"] if x["users"] == n)

    out = [
        ("sequential p50 (ms)", stock["sequential"]["p50_ms"], ours["sequential"]["p50_ms"], "<= 0.5"),
        ("sequential p95 (ms)", stock["sequential"]["p95_ms"], ours["sequential"]["p95_ms"], "<= 0.6"),
        (f"{top} users throughput (msg/s)", level(stock, top)["throughput"], level(ours, top)["throughput"], ">= 2"),
        (f"{top} users p50 (ms)", level(stock, top)["p50_ms"], level(ours, top)["p50_ms"], ""),
        (f"{top} users p95 (ms)", level(stock, top)["p95_ms"], level(ours, top)["p95_ms"], "<= 1"),
        ("p50 turn 1 (ms)", stock["length"]["p50_turn1_ms"], ours["length"]["p50_turn1_ms"], ""),
        (f"p50 turn {turns} (ms)", stock["length"][f"p50_turn{turns}_ms"], ours["length"][f"p50_turn{turns}_ms"], ""),
        ("p50 turns 1-3 (ms)", stock["length"]["p50_first3_ms"], ours["length"]["p50_first3_ms"], ""),
        (f"p50 turns {turns - 2}-{turns} (ms)", stock["length"]["p50_last3_ms"], ours["length"]["p50_last3_ms"], ""),
        ("ready after start (s)", stock["ready_s"], ours["ready_s"], "<= 0.5"),
        ("memory RSS, all processes (MB)", stock["memory"]["rss_mb"], ours["memory"]["rss_mb"], "<= 0.8"),
        ("memory PSS, all processes (MB)", stock["memory"]["pss_mb"], ours["memory"]["pss_mb"], ""),
    ]
    if "train_s" in stock and "train_s" in ours:
        out.append(("rasa train (s)", stock["train_s"], ours["train_s"], "<= 0.5"))
    return out


def print_table(table: list[tuple[str, float, float, str]], growth: dict[str, float]) -> None:
    print()
    print(f"{'figure':34} {'stock':>10} {'ours':>10} {'ours/stock':>11}  target")
    for name, s, o, target in table:
        ratio = o / s if s else float("nan")
        print(f"{name:34} {s:>10.1f} {o:>10.1f} {ratio:>11.2f}  {target}")
    for name, value in growth.items():
        print(f"{name:34} {'':>10} {value:>10.2f} {'':>11}  <= 1.2 (ours)")


def chart(stock: dict[str, Any], ours: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.2))
    for name, r, colour in (("stock Rasa bot", stock, "tab:grey"), ("this assistant", ours, "tab:blue")):
        levels = [x["users"] for x in r["concurrency"]]
        a.plot(levels, [x["p50_ms"] for x in r["concurrency"]], "o-", color=colour, label=f"{name} p50")
        a.plot(levels, [x["p95_ms"] for x in r["concurrency"]], "o--", color=colour, label=f"{name} p95")
        turns = r["length"]["p50_by_turn_ms"]
        b.plot(range(1, len(turns) + 1), turns, "-", color=colour, label=name)
    a.set(xlabel="concurrent users", ylabel="latency (ms)", title="Latency against concurrency")
    b.set(xlabel="turn in the conversation", ylabel="p50 latency (ms)", title="Latency against conversation length")
    a.set_ylim(bottom=0)
    b.set_ylim(bottom=0)
    a.legend(fontsize=8)
    b.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="shorter runs (a smoke test of the bench)")
    ap.add_argument("--no-train", action="store_true", help="skip timing `rasa train` for both bots")
    ap.add_argument("--only", choices=["stock", "ours"], help="measure one bot (no table)")
    ap.add_argument("--out", type=Path, default=OUT_DIR)
    args = ap.parse_args()
    args.seconds = 6.0 if args.quick else 20.0
    args.seq_messages = 40 if args.quick else 150
    args.levels = [1, 2, 5, 10]
    args.conversations = 2 if args.quick else 4
    args.turns = 10 if args.quick else 40
    top = args.levels[-1]

    ensure_stock()
    stock_model = sorted((STOCK_DIR / "models").glob("*.tar.gz"))[-1]
    runs: dict[str, Any] = {"load_at_start": load(), "machine_cores": os.cpu_count(),
                            "settings": {k: getattr(args, k) for k in ("seconds", "seq_messages", "levels",
                                                                       "conversations", "turns")}}
    logs = Path(tempfile.mkdtemp(prefix="bench-logs-"))
    var = Path(tempfile.mkdtemp(prefix="bench-var-"))
    stock_port = free_port()
    stock = Bot("stock", [RASA, "run", "--model", str(stock_model), "--port", str(stock_port)],
                STOCK_DIR, base_env(), stock_port, STOCK_MESSAGES, logs / "stock.log")
    ours_port = free_port()
    env = base_env()
    env.update(RASA_PORT=str(ours_port), ACTIONS_PORT=str(free_port()), WEB_PORT=str(free_port()),
               ASSISTANT_VAR_DIR=str(var))
    ours = Bot("ours", ["bash", "scripts/run.sh"], REPO, env, ours_port, OURS_MESSAGES, logs / "ours.log")
    try:
        for bot in (stock, ours):
            if args.only in (None, bot.name):
                runs[bot.name] = measure(bot, args)
        if not args.no_train:
            print("timing rasa train (forced, temporary out dir)...", flush=True)
            if args.only in (None, "stock"):
                runs["stock"]["train_s"] = time_train(STOCK_DIR, [])
            if args.only in (None, "ours"):
                runs["ours"]["train_s"] = time_train(REPO, ["--fixed-model-name", "assistant", "--quiet"])
    finally:
        stock.stop()
        ours.stop()
        shutil.rmtree(var, ignore_errors=True)
    runs["load_at_end"] = load()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.only is None:
        table = rows(runs["stock"], runs["ours"], args.turns, top)
        length = runs["ours"]["length"]
        growth = {f"ours turn {args.turns} / turn 1": length[f"p50_turn{args.turns}_ms"] / length["p50_turn1_ms"],
                  f"ours turns {args.turns - 2}-{args.turns} / 1-3": length["p50_last3_ms"] / length["p50_first3_ms"]}
        runs["table"] = [{"figure": n, "stock": s, "ours": o, "ratio": round(o / s, 3) if s else None,
                          "target": t} for n, s, o, t in table]
        runs["growth"] = {k: round(v, 3) for k, v in growth.items()}
        print_table(table, growth)
        chart(runs["stock"], runs["ours"], args.out / "bench.png")
    (args.out / "bench.json").write_text(json.dumps(runs, indent=2) + "\n")
    print(f"\nload average: {runs['load_at_start']} at start, {runs['load_at_end']} at end; "
          f"{args.out / 'bench.json'}; logs in {logs}")


if __name__ == "__main__":
    sys.exit(main())
