"""``records purge``, ``records flush`` and ``report`` sub-commands.

``add_records_commands(subparsers)`` registers them on the main CLI; each
handler takes the argparse namespace and returns an exit code:
0 ok, 1 database problem, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from bot import config

EXIT_OK, EXIT_DB, EXIT_USAGE = 0, 1, 2
DEFAULT_REPORT_DAYS = 28


def add_records_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register the records commands on an argparse sub-parser group."""
    records = subparsers.add_parser("records", help="maintain the records database")
    records_sub = records.add_subparsers(dest="records_command", metavar="{purge,flush}")
    records_sub.required = True

    purge = records_sub.add_parser("purge", help="delete records past the retention period")
    purge.add_argument("--days", type=int, default=None, help="retention in days (default: RETENTION_DAYS or 90)")
    purge.add_argument("--dry-run", action="store_true", help="count only, delete nothing")
    purge.add_argument("--db", metavar="URL", default=None, help="database URL (default: DATABASE_URL)")
    purge.set_defaults(func=cmd_purge)

    flush = records_sub.add_parser("flush", help="write records queued while the database was down")
    flush.add_argument("--db", metavar="URL", default=None, help="database URL (default: DATABASE_URL)")
    flush.set_defaults(func=cmd_flush)

    report = subparsers.add_parser("report", help="summary, weekly chart and CSV of the records")
    report.add_argument(
        "--from",
        dest="date_from",
        metavar="DATE",
        default=None,
        help=f"first day, YYYY-MM-DD (default: {DEFAULT_REPORT_DAYS} days before --to)",
    )
    report.add_argument(
        "--to", dest="date_to", metavar="DATE", default=None, help="last day, YYYY-MM-DD (default: today)"
    )
    report.add_argument("--csv", metavar="PATH", default=None, help="also export the answer rows as CSV")
    report.add_argument(
        "--chart", metavar="PATH", default=None, help="PNG chart path (default: var/report-FROM-TO.png)"
    )
    report.add_argument("--db", metavar="URL", default=None, help="database URL (default: DATABASE_URL)")
    report.add_argument(
        "--department",
        metavar="ID",
        default=None,
        help="only this department's answers, votes and unanswered questions (e.g. radiotherapy)",
    )
    report.set_defaults(func=cmd_report)


def _error(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)


def _db_error(url: str, exc: Exception) -> int:
    from bot.records.store import safe_url, short_error

    _error(f"cannot use the records database at {safe_url(url)}: {short_error(exc)}")
    return EXIT_DB


def _url(args: argparse.Namespace) -> str:
    return getattr(args, "db", None) or config.database_url()


def cmd_purge(args: argparse.Namespace) -> int:
    from bot.records.store import DATABASE_ERRORS, RecordStore
    from bot.serving.logfiles import purge_logs

    try:
        days = config.retention_days() if args.days is None else args.days
    except ValueError as exc:
        _error(str(exc))
        return EXIT_USAGE
    if days < 0:
        _error("--days must not be negative")
        return EXIT_USAGE
    url = _url(args)
    store = RecordStore(url)
    try:
        counts = store.purge(days, dry_run=args.dry_run)
    except DATABASE_ERRORS as exc:
        return _db_error(url, exc)
    finally:
        store.dispose()
    # Server logs rotated by scripts/run.sh follow the same retention.
    counts["log files"] = purge_logs(config.settings().var_dir, days, dry_run=args.dry_run)
    verb = "would delete" if args.dry_run else "deleted"
    detail = ", ".join(f"{n} from {table}" for table, n in counts.items())
    print(f"Records older than {days} days: {verb} {sum(counts.values())} ({detail}).")
    return EXIT_OK


def cmd_flush(args: argparse.Namespace) -> int:
    from bot.records.store import DATABASE_ERRORS, RecordStore

    url = _url(args)
    store = RecordStore(url)
    try:
        written = store.flush_outbox()
    except DATABASE_ERRORS as exc:
        return _db_error(url, exc)
    finally:
        store.dispose()
    print(f"Wrote {written} queued record(s); {store.pending()} still queued.")
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from bot.records import report as rep
    from bot.records.store import make_engine

    try:
        end = rep.parse_day(args.date_to, date.today())
        start = rep.parse_day(args.date_from, end - timedelta(days=DEFAULT_REPORT_DAYS - 1))
    except ValueError as exc:
        _error(str(exc))
        return EXIT_USAGE
    if start > end:
        _error(f"--from {start} is after --to {end}")
        return EXIT_USAGE

    url = _url(args)
    engine = make_engine(url)
    try:
        summary = rep.build_report(engine, start, end, department=args.department)
        print(rep.format_report(summary, _local_rules()))
        chart = Path(args.chart) if args.chart else config.var_dir() / f"report-{start}-{end}.png"
        rep.write_chart(summary, chart)
        print(f"Chart: {chart}")
        if args.csv:
            rows = rep.write_csv(engine, start, end, Path(args.csv), department=args.department)
            print(f"CSV: {args.csv} ({rows} rows)")
    except SQLAlchemyError as exc:
        return _db_error(url, exc)
    except OSError as exc:
        _error(f"cannot write output: {exc}")
        return EXIT_USAGE
    finally:
        engine.dispose()
    return EXIT_OK


def _local_rules() -> list[str] | None:
    """The department policy's rule citations, or None when the knowledge cannot be read
    (the report still prints, without the "never cited" list)."""
    from bot.knowledge import KnowledgeError, load

    try:
        policy = load().policy
    except (KnowledgeError, OSError):
        return None
    return [rule.cite for rule in policy.rules.values()] if policy else None


def main(argv: list | None = None) -> int:
    """Stand-alone entry point (``python -m bot.records.cli``) for testing."""
    parser = argparse.ArgumentParser(prog="bot")
    add_records_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
