"""`python -m bot` as a member of staff or a script would use it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml
from conftest import REPO, quiz_answer_key  # tests/ is on sys.path

from bot.knowledge import load


def assistant_card_title(scenario: str) -> str:
    return load().scenarios[scenario].title



def run(*args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=REPO, input=stdin, capture_output=True,
                          text=True, timeout=300, env=None if env is None else {**os.environ, **env})


def _policy_reviewed(tmp_path: Path, review: str) -> str:
    """A copy of the example policy with its review date set, so no test depends on today's date."""
    policy = yaml.safe_load((REPO / "knowledge" / "policy" / "trust.yml").read_text())
    policy["approved"], policy["review"] = "2020-01-01", review
    path = tmp_path / f"policy-{review}.yml"
    path.write_text(yaml.safe_dump(policy, sort_keys=False))
    return str(path)


def test_help_lists_the_commands():
    out = run("--help")
    assert out.returncode == 0
    for command in ("ask", "eval", "knowledge", "policy", "records", "report"):
        assert command in out.stdout


def test_ask_json_prints_one_contract_object(tmp_path):
    out = run("ask", "--json", "relative started filming during setup",
              env={"POLICY_FILE": _policy_reviewed(tmp_path, "2999-01-01")})
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["scenario"] == "companion-filming-setup" and data["citations"]
    assert data["title"] == assistant_card_title("companion-filming-setup")
    assert data["warnings"] == []
    assert data["reply"].startswith(data["title"])


def test_ask_json_puts_a_policy_warning_before_the_title(tmp_path):
    out = run("ask", "--json", "relative started filming during setup",
              env={"POLICY_FILE": _policy_reviewed(tmp_path, "2021-01-01")})
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert len(data["warnings"]) == 1 and "due for review on 01 January 2021" in data["warnings"][0]
    assert data["reply"].startswith(f"Warning: {data['warnings'][0]}")
    assert f"\n{data['title']}" in data["reply"]


def test_ask_readable_by_default():
    out = run("ask", "what does 5.7 say")
    assert out.returncode == 0 and "SoR-2019 5.7" in out.stdout and not out.stdout.lstrip().startswith("{")


def test_json_lines_mode_answers_each_line_and_keeps_a_quiz_going():
    lines = "relative started filming during setup\n\nwhat kV for a lateral knee\nquiz me\n1\n"
    out = run("ask", "--json", "-", stdin=lines)
    assert out.returncode == 0, out.stderr
    answers = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(answers) == 4  # the blank line is skipped
    assert answers[0]["scenario"] == "companion-filming-setup"
    assert answers[1]["out_of_scope"] is True
    assert answers[2]["kind"] == "quiz" and answers[3]["kind"] == "quiz"
    right = quiz_answer_key(load(), answers[2])  # the question is random; the verdict "1" deserves is not
    assert answers[3]["reply"].startswith("Right." if right == 1 else f"Not quite: the answer is {right}.")


def test_fact_option_answers_the_clarifying_question():
    out = run("ask", "--json", "--fact", "stage=exposure", "--no-clarify", "relative filming in the x-ray room")
    assert json.loads(out.stdout)["scenario"] == "companion-filming-exposure"


def test_bad_fact_is_a_usage_error_with_the_choices():
    out = run("ask", "--fact", "stage=lunchtime", "relative filming")
    assert out.returncode == 2 and "bad fact 'stage=lunchtime'" in out.stderr and "exposure" in out.stderr


def test_eval_prints_the_figures(tmp_path):
    cases = tmp_path / "cases.yml"
    cases.write_text("situations:\n  - text: found pt secretly recording in her bag\n"
                     "    scenario: covert-recording-discovered\nout_of_scope:\n  - what kV for an AP pelvis\n")
    out = run("eval", str(cases), "--min-situations", "1", "--min-declined", "1")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "situations: 1/1" in out.stdout and "out of scope: 1/1 declined" in out.stdout


def test_eval_of_a_missing_or_malformed_file_is_a_clear_error(tmp_path):
    missing = run("eval", str(tmp_path / "nope.yml"))
    assert missing.returncode == 2 and "cannot read" in missing.stderr
    bad = tmp_path / "bad.yml"
    bad.write_text("- just a list\n")
    out = run("eval", str(bad))
    assert out.returncode == 2 and "expected a mapping" in out.stderr


def test_build_reports_the_pipeline_and_the_classifier():
    out = run("build")
    assert out.returncode == 0, out.stderr
    assert "spaCy pipeline in" in out.stdout
    assert re.search(r"core classifier [0-9a-f]{16} ready \(\d+ labels\)", out.stdout), out.stdout
