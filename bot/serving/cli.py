"""``python -m bot``: the core's command line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bot import config

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


def _assistant():  # noqa: ANN202 (imported lazily: the CLI's other commands must not load the models)
    from bot.answering.engine import Assistant
    from bot.knowledge import KnowledgeError

    try:
        return Assistant()
    except KnowledgeError as exc:
        print(exc, file=sys.stderr)
        raise SystemExit(EXIT_FAIL) from None


def _question_line(line: str) -> str:
    """One input line: plain text, or a JSON string for a question that holds line breaks."""
    line = line.rstrip("\n")
    if line.startswith('"'):
        try:
            decoded = json.loads(line)
        except ValueError:
            return line
        if isinstance(decoded, str):
            return decoded
    return line


def cmd_ask(args: argparse.Namespace) -> int:
    from bot.answering.engine import parse_fact_args

    assistant = _assistant()
    try:
        facts = parse_fact_args(args.fact or [], assistant.kb)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    if args.text == "-":  # JSON Lines: one question a line, model loaded once, conversation state kept
        state = None
        for line in sys.stdin:
            line = _question_line(line)
            if not line.strip():
                continue
            answer = assistant.ask(line, facts=facts, scenario=args.scenario, state=state, department=args.department)
            state = answer.state or None
            data = answer.to_dict()
            print(json.dumps(data, ensure_ascii=False) if args.json else data["reply"] + "\n", flush=True)
        return EXIT_OK
    data = assistant.ask(
        args.text, facts=facts, scenario=args.scenario, allow_clarify=not args.no_clarify, department=args.department
    ).to_dict()
    print(json.dumps(data, ensure_ascii=False, indent=None) if args.json else data["reply"])
    return EXIT_OK


def cmd_eval(args: argparse.Namespace) -> int:
    from bot.evaluation import evaluate, load_heldout

    try:
        cases = load_heldout(Path(args.file))
    except (OSError, ValueError) as exc:
        print(f"cannot read {args.file}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    report = evaluate(_assistant(), cases)
    print(json.dumps(report.as_dict(), indent=2) if args.json else report.text())
    if args.report:
        Path(args.report).parent.mkdir(parents=True, exist_ok=True)
        Path(args.report).write_text(json.dumps(report.as_dict(), indent=2) + "\n")
    failed = [
        f"{name} {value:.1%} {op} {limit:.1%}"
        for name, value, op, limit, bad in (
            (
                "situations",
                report.situation_accuracy,
                "<",
                args.min_situations,
                report.situation_accuracy < args.min_situations,
            ),
            ("declined", report.decline_rate, "<", args.min_declined, report.decline_rate < args.min_declined),
            ("general", report.general_accuracy, "<", args.min_general, report.general_accuracy < args.min_general),
            (
                "vague guesses",
                report.vague_guess_rate,
                ">",
                args.max_vague_guesses,
                report.vague_guess_rate > args.max_vague_guesses,
            ),
        )
        if bad
    ]
    if failed:
        print("below target: " + "; ".join(failed), file=sys.stderr)
    return EXIT_FAIL if failed else EXIT_OK


def cmd_knowledge_check(args: argparse.Namespace) -> int:
    from bot.knowledge import KnowledgeError, load
    from bot.knowledge.report import summary

    try:
        kb = load(
            Path(args.dir) if args.dir else None,
            Path(args.policy) if args.policy else None,
            Path(args.policy_dir) if args.policy_dir else None,
        )
    except KnowledgeError as exc:
        print(exc, file=sys.stderr)
        return EXIT_FAIL
    from bot.answering import quiz_bank

    try:  # the quiz and member-advice material is checked with the knowledge it refers to
        bank = quiz_bank.load(kb, Path(args.dir) if args.dir else None)
    except quiz_bank.QuizBankError as exc:
        print(exc, file=sys.stderr)
        return EXIT_FAIL
    print(summary(kb))
    print(
        f"quiz: {sum(len(c.vignettes) for c in bank.cards.values())} vignettes on {len(bank.cards)} cards, "
        f"{len(bank.misconceptions)} misconceptions, {len(bank.editions)} edition entries, "
        f"{len(bank.positions)} member positions"
    )
    return EXIT_OK


def cmd_build(args: argparse.Namespace) -> int:
    """Build the spaCy pipeline (and, unless --nlp-only, the core classifier)."""
    from bot import knowledge
    from bot.understanding import pipeline as nlp

    try:
        kb = knowledge.load()
    except knowledge.KnowledgeError as exc:
        print(exc, file=sys.stderr)
        return EXIT_FAIL
    if args.force or not nlp.is_current(kb.facts):
        nlp.build(kb.facts, config.settings().spacy_model)
        print(f"built spaCy pipeline in {config.settings().spacy_model}")
    else:
        print(f"spaCy pipeline in {config.settings().spacy_model} is current")
    if not args.nlp_only:
        from bot.answering.engine import Assistant

        assistant = Assistant(kb)
        print(f"core classifier {assistant.model_version} ready ({len(assistant.analyser.classifier.labels)} labels)")
    return EXIT_OK


def cmd_policy_check(args: argparse.Namespace) -> int:
    from bot.knowledge.policy_check import run

    return run(Path(args.path) if args.path else None, Path(args.html) if args.html else None)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Decision support for imaging and radiotherapy staff when patients, relatives or staff "
        "record images, video or audio. Guidance, not legal advice.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    ask = sub.add_parser("ask", help="answer a question (or '-' for one question a line from stdin)")
    ask.add_argument(
        "text",
        help="the question, or '-' to read one a line (a line may be a JSON string, for a question "
        "with line breaks; JSON Lines out with --json)",
    )
    ask.add_argument("--json", action="store_true", help="print the answer contract as JSON")
    ask.add_argument(
        "--fact",
        action="append",
        metavar="FACT=VALUE",
        help="a known fact, as if answering a clarifying question (repeatable)",
    )
    ask.add_argument("--scenario", help="answer this scenario id directly")
    ask.add_argument("--no-clarify", action="store_true", help="answer without asking a clarifying question")
    ask.add_argument(
        "--department",
        metavar="ID",
        help="answer with this department's policy on top of the trust's (e.g. radiotherapy)",
    )
    ask.set_defaults(func=cmd_ask)

    ev = sub.add_parser("eval", help="score a held-out test set (rates with 95 %% intervals, by section and class)")
    ev.add_argument(
        "file",
        help="YAML with 'situations' (text, scenario, class), 'general' (text, cites), "
        "'vague' and 'out_of_scope' (texts); any may be left out",
    )
    ev.add_argument("--json", action="store_true")
    ev.add_argument("--report", help="also write the figures as JSON to this file")
    ev.add_argument("--min-situations", type=float, default=0.0, help="exit 1 below this accuracy (0-1)")
    ev.add_argument("--min-declined", type=float, default=0.0, help="exit 1 below this decline rate (0-1)")
    ev.add_argument(
        "--min-general",
        type=float,
        default=0.0,
        help="exit 1 below this share of general questions citing an expected clause (0-1)",
    )
    ev.add_argument(
        "--max-vague-guesses",
        type=float,
        default=1.0,
        help="exit 1 above this share of vague messages answered with content (0-1)",
    )
    ev.set_defaults(func=cmd_eval)

    kn = sub.add_parser("knowledge", help="knowledge base tools")
    kn_sub = kn.add_subparsers(dest="knowledge_command", metavar="ACTION", required=True)
    check = kn_sub.add_parser("check", help="validate the knowledge base and print a summary")
    check.add_argument("--dir", help="knowledge folder (default: knowledge/)")
    check.add_argument("--policy", help="a single local policy file to check with it (no departments)")
    check.add_argument("--policy-dir", help="a folder of trust.yml and departments/<id>.yml to check with it")
    check.set_defaults(func=cmd_knowledge_check)

    build = sub.add_parser("build", help="build the spaCy pipeline and the core classifier")
    build.add_argument("--nlp-only", action="store_true")
    build.add_argument("--force", action="store_true")
    build.set_defaults(func=cmd_build)

    pol = sub.add_parser("policy", help="department policy tools")
    pol_sub = pol.add_subparsers(dest="policy_command", metavar="ACTION", required=True)
    pcheck = pol_sub.add_parser(
        "check", help="check policy files against the national guidance (and a department's against the trust's)"
    )
    pcheck.add_argument(
        "path",
        nargs="?",
        help="a policy file, or a folder of trust.yml and departments/ (default: the configured policies)",
    )
    pcheck.add_argument("--html", help="also write a one-page HTML report here")
    pcheck.set_defaults(func=cmd_policy_check)

    # Imported, not looked up by name: a broken module must fail loudly, never drop its command.
    from bot.records.cli import add_records_commands
    from bot.serving.web import add_web_command

    add_records_commands(sub)
    add_web_command(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_OK if argv is None or not argv else EXIT_USAGE
    return int(args.func(args) or 0)
