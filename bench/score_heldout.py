"""Per-class figures on a held-out file, printing counts only (never the texts).

Scores the sections ``bot eval`` may not know yet:

- situations: right when the final answer (after at most one clarifying question,
  answered as staff in that situation would) names the expected card and carries
  its first two citations, as ``bot.evaluation`` counts it;
- general: right when any of the case's ``cites`` is among the answer's citations
  (after at most one clarifying question);
- vague: right when the assistant asks (kind clarify or not_sure) rather than
  answering a card; a card answer is a guess;
- out_of_scope: right when declined.

Texts are not printed so that looking at the figures cannot turn into tuning on
the held-out set.

    .venv/bin/python bench/score_heldout.py tests/data/heldout_unseen.yml
"""

from __future__ import annotations

import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

sys.modules.setdefault("tensorflow", None)  # type: ignore[arg-type]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import yaml  # noqa: E402

from bot.answering.engine import Assistant  # noqa: E402
from bot.evaluation import Case, _follow_clarify  # noqa: E402

ASKED = ("clarify", "not_sure")


def score(assistant: Assistant, path: Path) -> dict[str, dict[str, int]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    out: dict[str, Counter] = defaultdict(Counter)
    kb = assistant.kb
    for item in data.get("situations") or []:
        key = f"situations/{item.get('class', 'all')}"
        case = Case(str(item["text"]), str(item["scenario"]))
        ans = assistant.ask(case.text)
        out[key]["n"] += 1
        if ans.kind == "clarify":
            out[key]["clarified"] += 1
            ans = _follow_clarify(assistant, case, ans)
        card = kb.scenarios[case.scenario]
        key_cites = card.citations[:2]
        ok = ans.kind == "answer" and ans.scenario == case.scenario and all(c in ans.citations for c in key_cites)
        out[key]["right"] += ok
        out[key][f"got:{ans.kind}"] += 1
        # a rep's message answered as a member-advice check naming the right card and its key clauses
        out[key]["member_advice_right_card"] += (ans.intent == "check_member_advice" and ans.scenario == case.scenario
                                                 and all(c in ans.citations for c in key_cites))
    for item in data.get("general") or []:
        key = "general"
        ans = assistant.ask(str(item["text"]))
        out[key]["n"] += 1
        if ans.kind == "clarify":
            out[key]["clarified"] += 1
            ans = _follow_clarify(assistant, Case(str(item["text"]), item.get("scenario")), ans)
        out[key]["right"] += bool(set(item["cites"]) & set(ans.citations))
        out[key][f"got:{ans.kind}"] += 1
    for item in data.get("vague") or []:
        text = item["text"] if isinstance(item, dict) else item
        ans = assistant.ask(str(text))
        out["vague"]["n"] += 1
        out["vague"]["right"] += ans.kind in ASKED
        out["vague"]["guessed"] += ans.kind == "answer"
        out["vague"][f"got:{ans.kind}"] += 1
    for text in data.get("out_of_scope") or []:
        ans = assistant.ask(str(text))
        out["out_of_scope"]["n"] += 1
        out["out_of_scope"]["right"] += ans.out_of_scope
    return {k: dict(v) for k, v in out.items()}


def main() -> None:
    assistant = Assistant()
    for name in sys.argv[1:]:
        result = score(assistant, Path(name))
        total = Counter()
        print(name)
        for key in sorted(result):
            r = result[key]
            total["n"] += r["n"] if key.startswith("situations") else 0
            total["right"] += r["right"] if key.startswith("situations") else 0
            extra = {k: v for k, v in r.items() if k not in ("n", "right")}
            print(f"  {key:24s} {r['right']:3d}/{r['n']:3d} ({r['right'] / r['n']:.1%})  {json.dumps(extra)}")
        if total["n"]:
            print(f"  {'situations (all)':24s} {total['right']:3d}/{total['n']:3d} ({total['right'] / total['n']:.1%})")


if __name__ == "__main__":
    main()
