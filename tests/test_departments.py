"""One assistant for a whole trust: each department's policy on top of the trust's (issue 19)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml
from conftest import REPO
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.answering.engine import Assistant
from bot.knowledge import KnowledgeError, load
from bot.knowledge.policy_check import check
from bot.records import cli as records_cli
from bot.records.models import AnswerRecord, UnansweredRecord
from bot.records.report import NO_DEPARTMENT_LABEL, build_report, format_report
from bot.records.store import RecordStore, make_engine, upgrade_schema

POLICY = REPO / "knowledge" / "policy"
SETUP = "relative started filming during setup"


def _local(a) -> list:
    return [w for w in a.why if w.local]


# --- the same question, answered per department ------------------------------------------------

def test_filming_during_setup_is_permitted_in_xray_ct_and_restricted_in_radiotherapy(assistant):
    xray = assistant.ask(SETUP, department="xray-ct")
    rt = assistant.ask(SETUP, department="radiotherapy")
    assert xray.scenario == rt.scenario == "companion-filming-setup"
    assert xray.citations[0] == "LOCAL XR-03" and "(permit)" in xray.why[0].point
    assert xray.why[0].source == "General X-ray and CT (department policy)"
    assert rt.citations[0] == "LOCAL RT-03" and "(restrict)" in rt.why[0].point
    assert "does not film or photograph in the treatment room during set-up" in rt.why[0].point
    # the trust's companion rule is replaced in both, not shown beside the department's
    assert "LOCAL REC-03" not in xray.citations and "LOCAL REC-03" not in rt.citations
    assert "[Radiotherapy (department policy)]" in rt.to_dict()["reply"]
    assert not xray.warnings and not rt.warnings


def test_department_rules_come_first_then_the_trusts_each_naming_its_layer(assistant):
    a = assistant.ask(SETUP, department="radiotherapy")
    layers = [w.layer for w in _local(a)]
    assert layers == sorted(layers, key=lambda x: x != "department") and layers[0] == "department"
    trust = [w for w in _local(a) if w.layer == "trust"]
    assert trust and all(w.source == "Example NHS Trust (fictional example) (trust policy)" for w in trust)
    assert a.citations.index(_local(a)[-1].cite) < a.citations.index(next(w.cite for w in a.why if not w.local))


def test_a_department_without_its_own_rule_gets_the_trusts(assistant):
    a = assistant.ask(SETUP, department="obstetric-ultrasound")
    assert a.citations[0] == "LOCAL REC-03" and a.why[0].layer == "trust" and not a.warnings


def test_photos_with_the_team_welcome_in_radiotherapy_not_offered_in_obstetric_ultrasound(assistant):
    rt = assistant.ask("patient wants a photo with the team at the end of treatment", department="radiotherapy")
    us = assistant.ask("patient wants a photo with the team at the end of treatment", department="obstetric-ultrasound")
    assert rt.citations[0] == "LOCAL REC-07" and "(permit)" in rt.why[0].point and rt.why[0].layer == "department"
    assert us.citations[0] == "LOCAL US-07" and "(forbid)" in us.why[0].point
    assert us.why[0].departs  # stronger than national guidance, and says why


def test_policy_question_answers_with_the_departments_rules(assistant):
    a = assistant.ask("what does our policy say about filming in obstetric ultrasound?",
                      department="obstetric-ultrasound")
    assert a.kind == "policy" and a.citations[0] == "LOCAL US-06" and a.text.startswith("Obstetric ultrasound")


@pytest.mark.parametrize("department, said", [(None, "no department was given"),
                                              ("cardiology", "the department 'cardiology' is not known"),
                                              ("<script>", "the department given is not known")])
def test_missing_or_unknown_department_falls_back_to_the_trust_and_says_so(assistant, department, said):
    a = assistant.ask(SETUP, department=department)
    assert a.citations[0] == "LOCAL REC-03" and a.department is None
    assert any(w.startswith(said) and "trust-wide policy" in w for w in a.warnings)
    assert f"Warning: {said}" in a.to_dict()["reply"] and "<script>" not in a.to_dict()["reply"]


# --- each file's review date warns where it applies --------------------------------------------

def _policy_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "policy"
    shutil.copytree(POLICY, folder)
    return folder


def _edit(path: Path, change) -> None:  # noqa: ANN001
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def test_a_department_file_past_review_warns_only_in_that_departments_answers(tmp_path):
    folder = _policy_copy(tmp_path)
    _edit(folder / "departments" / "radiotherapy.yml", lambda d: d.update(approved="2020-01-01", review="2021-01-01"))
    a = Assistant(load(policy_dir=folder))
    rt = a.ask(SETUP, department="radiotherapy")
    assert any("Radiotherapy, version 1.3) was due for review on 01 January 2021" in w for w in rt.warnings)
    assert not a.ask(SETUP, department="xray-ct").warnings


def test_the_trust_file_past_review_warns_in_every_department(tmp_path):
    folder = _policy_copy(tmp_path)
    _edit(folder / "trust.yml", lambda d: d.update(approved="2020-01-01", review="2021-01-01"))
    a = Assistant(load(policy_dir=folder))
    for dept in ("xray-ct", "radiotherapy", "obstetric-ultrasound"):
        warnings = a.ask(SETUP, department=dept).warnings
        assert any("Example NHS Trust (fictional example), version 2.0) was due for review" in w
                   for w in warnings), dept


# --- overrides and conflicts ------------------------------------------------------------------

CONFLICT = {"id": "XR-20", "title": "Companions may film anything", "effect": "permit",
            "applies_to": {"who": ["relative"], "how": ["video"]},
            "text": "A relative may film the examination for the patient.", "implements": ["SoR-2019 2.2"]}


def _problems(folder: Path) -> list[str]:
    with pytest.raises(KnowledgeError) as err:
        load(policy_dir=folder)
    return [str(p) for p in err.value.problems]


def test_an_undeclared_conflict_with_the_trust_is_refused_naming_file_entry_and_field(tmp_path):
    folder = _policy_copy(tmp_path)
    _edit(folder / "departments" / "obstetric-ultrasound.yml", lambda d: d["rules"].append(dict(CONFLICT)))
    (problem,) = _problems(folder)
    assert problem.startswith("policy/departments/obstetric-ultrasound.yml: entry 'XR-20': field 'overrides': "
                              "conflicts with trust rule REC-03")
    assert "permit here, restrict there" in problem and "Add 'overrides: REC-03'" in problem


def test_declaring_the_override_resolves_the_conflict_and_replaces_the_trust_rule(tmp_path):
    folder = _policy_copy(tmp_path)
    _edit(folder / "departments" / "obstetric-ultrasound.yml",
          lambda d: d["rules"].append({**CONFLICT, "overrides": "REC-03"}))
    a = Assistant(load(policy_dir=folder))
    answer = a.ask(SETUP, department="obstetric-ultrasound")
    assert "LOCAL XR-20" in answer.citations and "LOCAL REC-03" not in answer.citations
    assert "LOCAL REC-03" in a.ask(SETUP, department="xray-ct").citations or \
        "LOCAL XR-03" in a.ask(SETUP, department="xray-ct").citations


def test_overriding_a_trust_rule_that_does_not_exist_is_refused(tmp_path):
    folder = _policy_copy(tmp_path)
    _edit(folder / "departments" / "xray-ct.yml", lambda d: d["rules"][0].update(overrides="REC-99"))
    assert any("entry 'XR-03': field 'overrides': unknown trust rule 'REC-99'" in p for p in _problems(folder))


def test_a_department_rule_firmer_than_the_guidance_needs_departs_from_national(tmp_path):
    folder = _policy_copy(tmp_path)
    _edit(folder / "departments" / "obstetric-ultrasound.yml", lambda d: d["rules"][1].update(
        departs_from_national=None, text="Sonographers must never be photographed or filmed with families."))
    assert any(p.startswith("policy/departments/obstetric-ultrasound.yml: entry 'US-07': field 'text': says "
                            "'must', 'never'") and "departs_from_national" in p for p in _problems(folder))


def _policy_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", "policy", "check", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=300)


def test_policy_check_reports_a_conflict_in_a_department_file(tmp_path, assistant):
    folder = _policy_copy(tmp_path)
    dept = folder / "departments" / "xray-ct.yml"
    _edit(dept, lambda d: d["rules"][0].pop("overrides"))
    report = check(dept, assistant.kb)
    assert not report.ok and any("entry 'XR-03': field 'overrides': conflicts with trust rule REC-03" in p
                                 for p in report.problems)


def test_policy_check_of_the_example_folder_passes_for_every_file():
    out = _policy_cli(str(POLICY))
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.count("verdict: valid") == 4
    for dept in ("xray-ct", "obstetric-ultrasound", "radiotherapy"):
        assert f"department '{dept}' on top of trust.yml" in out.stdout


def test_example_departments_are_fully_covered_with_the_trust(assistant):
    for dept in ("xray-ct", "obstetric-ultrasound", "radiotherapy"):
        r = check(POLICY / "departments" / f"{dept}.yml", assistant.kb)
        assert r.ok and not r.missing and not r.contradictions, (dept, r.problems, r.missing)


def test_a_single_policy_file_is_the_trust_layer_with_no_departments(tmp_path):
    single = tmp_path / "one.yml"
    single.write_text((POLICY / "trust.yml").read_text())
    kb = load(policy_file=single)
    assert kb.departments == {} and kb.policy.department == "Example NHS Trust (fictional example)"
    a = Assistant(kb).ask(SETUP, department="radiotherapy")
    assert a.citations[0] == "LOCAL REC-03" and not a.warnings  # nothing to fall back from


# --- records and the report per department ------------------------------------------------------

DAY = date(2025, 3, 3)


def _seed(url: str, outbox: Path) -> None:
    store = RecordStore(url, outbox_path=outbox, retry_after_s=0)
    plan = [("radiotherapy", True), ("radiotherapy", True), ("radiotherapy", False), ("xray-ct", False),
            (None, None)]
    for dept, vote in plan:
        answer = {"question": "q", "intent": "describe_situation", "confidence": 0.9, "scenario": "companion-filming-setup",
                  "citations": ["LOCAL RT-03"], "department": dept}
        aid = store.record_answer(answer, channel="rest", latency_ms=5.0, clarified=False, model_version="m",
                                  knowledge_version="k")
        if vote is not None:
            store.record_feedback(aid, vote, None, None if vote else "unclear")
    store.record_unanswered("what about pets?", "not_sure", "xray-ct")
    store.record_unanswered("and horses?", "not_sure", "xray-ct")
    store.record_unanswered("and fish?", "not_sure", "made up text with spaces")  # not an id: not stored
    store.dispose()


def test_records_keep_the_department_and_the_report_compares_and_filters(db_url, outbox):
    _seed(db_url, outbox)
    engine = make_engine(db_url)
    try:
        with Session(engine) as s:
            stored = s.scalars(select(UnansweredRecord.department)).all()
            assert sorted(str(d) for d in stored) == ["None", "xray-ct", "xray-ct"]
        today = date.today()
        everyone = build_report(engine, today - timedelta(days=1), today)
        assert everyone.questions == 5
        assert everyone.by_department["radiotherapy"] == {"answers": 3, "helpful": 2, "unhelpful": 1}
        assert everyone.by_department["xray-ct"] == {"answers": 1, "unhelpful": 1, "unanswered": 2}
        assert everyone.by_department[NO_DEPARTMENT_LABEL]["answers"] == 1
        text = format_report(everyone)
        assert "By department:" in text
        rt_line = next(line for line in text.splitlines() if line.strip().startswith("radiotherapy"))
        assert rt_line.split() == ["radiotherapy", "3", "67%", "0"]
        xr_line = next(line for line in text.splitlines() if line.strip().startswith("xray-ct"))
        assert xr_line.split() == ["xray-ct", "1", "0%", "2"]
        only = build_report(engine, today - timedelta(days=1), today, department="radiotherapy")
        assert (only.questions, only.helpful, only.unhelpful) == (3, 2, 1)
        assert only.top_unanswered == [] and list(only.by_department) == ["radiotherapy"]
    finally:
        engine.dispose()


def test_report_cli_department_filter(db_url, outbox, tmp_path, capsys):
    _seed(db_url, outbox)
    code = records_cli.main(["report", "--db", db_url, "--department", "xray-ct", "--chart",
                             str(tmp_path / "c.png"), "--csv", str(tmp_path / "rows.csv")])
    out = capsys.readouterr().out
    assert code == 0 and "for department xray-ct" in out and "Questions answered:   1" in out
    assert "what about pets?" in out and "radiotherapy" not in out
    rows = (tmp_path / "rows.csv").read_text().splitlines()
    assert len(rows) == 2 and "xray-ct" in rows[1]


def test_migration_0003_adds_department_to_an_existing_database(db_url):
    from test_records import _alembic

    engine = make_engine(db_url)
    try:
        _alembic(engine, "upgrade", "0002_feedback_reason_one_vote")
        with engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO rec_answers (id, created_at, channel, question, out_of_scope, "
                                 "fallback, clarified, citations) VALUES ('a1', '2025-01-01 10:00:00', 'rest', 'q', "
                                 "false, false, false, '[]')")
        upgrade_schema(engine)
        with Session(engine) as s:
            assert s.scalars(select(AnswerRecord.department)).all() == [None]
        _alembic(engine, "downgrade", "0002_feedback_reason_one_vote")
        from sqlalchemy import inspect

        assert "department" not in {c["name"] for c in inspect(engine).get_columns("rec_answers")}
    finally:
        engine.dispose()


def test_dashboard_filters_and_compares_departments(db_url, outbox):
    from bot.serving.dashboard import KnowledgeView, summary

    _seed(db_url, outbox)
    kv = KnowledgeView.of(load())
    engine = make_engine(db_url)
    try:
        today = date.today()
        everyone = summary(build_report(engine, today - timedelta(days=1), today), kv)
        rt = summary(build_report(engine, today - timedelta(days=1), today, department="radiotherapy"), kv)
    finally:
        engine.dispose()
    # staff look for their department by name: the choice and the comparison are in name order
    assert [d["name"] for d in everyone["departments"]] == ["General X-ray and CT", "Obstetric ultrasound", "Radiotherapy"]
    assert [d["id"] for d in everyone["byDepartment"]][-1] == NO_DEPARTMENT_LABEL
    compared = {d["id"]: d for d in everyone["byDepartment"]}
    assert compared["radiotherapy"]["name"] == "Radiotherapy" and compared["radiotherapy"]["helpfulRate"] == 0.6667
    assert compared["xray-ct"]["unanswered"] == 2 and NO_DEPARTMENT_LABEL in compared
    assert everyone["department"] is None and everyone["policy"]["department"].startswith("Example NHS Trust")
    # one department: its figures, its policy file, and its own rules in place of the trust's it overrides
    assert rt["department"] == "radiotherapy" and rt["totals"]["questions"] == 3
    assert rt["policy"]["department"] == "Radiotherapy" and rt["policy"]["version"] == "1.3"
    never = {r["cite"] for r in rt["localRules"]["never"]}
    assert "LOCAL REC-03" not in never and "LOCAL REC-01" in never
    assert {"cite": "LOCAL RT-03", "title": "No filming by companions during treatment set-up", "count": 3} \
        in rt["localRules"]["cited"]
    assert "department=radiotherapy" in rt["links"]["csv"] and "department=radiotherapy" in rt["links"]["chart"]


def test_dashboard_refuses_an_unknown_department():
    from bot.serving.dashboard import KnowledgeView, department_of

    kv = KnowledgeView.of(load())
    assert department_of({"department": ["radiotherapy"]}, kv) == "radiotherapy"
    assert department_of({}, kv) is None and department_of({"department": [""]}, kv) is None
    with pytest.raises(ValueError, match="no such department"):
        department_of({"department": ["<script>"]}, kv)


# --- the page per department (no browser: tests/e2e/test_chat_page.py drives it in Chromium) ----

@pytest.fixture(scope="module")
def page_server():  # noqa: ANN201
    import threading

    from conftest import free_port

    from bot.serving.web import make_server

    server = make_server(free_port(), "http://rasa.example:5005")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _get(url: str) -> tuple[int, str, dict]:
    import urllib.error
    import urllib.request

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
            return None

    try:
        with urllib.request.build_opener(NoRedirect).open(url, timeout=60) as resp:
            return resp.status, resp.read().decode("utf-8"), dict(resp.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8"), dict(exc.headers)


def test_the_start_page_lists_the_departments_and_each_has_its_chat_page(page_server):
    status, body, headers = _get(page_server + "/")
    assert status == 200 and "script-src 'self'" in headers["Content-Security-Policy"]
    for did, name in (("xray-ct", "General X-ray and CT"), ("obstetric-ultrasound", "Obstetric ultrasound"),
                      ("radiotherapy", "Radiotherapy")):
        assert f'<a class="nhsuk-link" href="/d/{did}/">{name}</a>' in body
    assert 'href="/index.html"' in body  # the trust-wide page stays reachable
    status, page, _ = _get(page_server + "/d/radiotherapy/")
    assert status == 200 and 'id="question"' in page and 'src="/js/main.js"' in page
    status, _, headers = _get(page_server + "/d/radiotherapy")
    assert status == 301 and headers["Location"] == "/d/radiotherapy/"
    status, body, _ = _get(page_server + "/d/cardiology/")
    assert status == 404 and "no department 'cardiology'" in body
    assert _get(page_server + "/d/Radio<therapy/")[0] == 404  # not an id: not echoed
    assert 'id="question"' in _get(page_server + "/index.html")[1]


def test_a_departments_config_names_it_for_the_rest_metadata(page_server):
    config = json.loads(_get(page_server + "/config.json?department=radiotherapy")[1])
    assert (config["department"], config["department_name"]) == ("radiotherapy", "Radiotherapy")
    assert config["rasaUrl"] == "http://rasa.example:5005"
    for query in ("", "?department=cardiology", "?department=%3Cscript%3E"):
        assert "department" not in json.loads(_get(page_server + "/config.json" + query)[1])


def test_the_why_panel_shows_the_departments_version_of_an_overridden_rule(page_server):
    trust = json.loads(_get(page_server + "/api/clauses/LOCAL%20REC-07")[1])
    rt = json.loads(_get(page_server + "/api/clauses/LOCAL%20REC-07?department=radiotherapy")[1])
    assert trust["layer"] == "trust" and rt["layer"] == "department"
    assert rt["source_title"].startswith("Radiotherapy recording policy (department)")
    assert rt["text"] != trust["text"]
    ids = {c["id"] for c in json.loads(_get(page_server + "/api/clauses?department=radiotherapy")[1])}
    assert {"LOCAL RT-03", "LOCAL REC-07", "LOCAL REC-01", "SoR-2019 5.6"} <= ids and "LOCAL REC-03" not in ids
    assert "LOCAL RT-03" not in {c["id"] for c in json.loads(_get(page_server + "/api/clauses")[1])}
