"""Clinical-safety checks on the knowledge (hazards HAZ-02, HAZ-03, HAZ-04, HAZ-07): the schema, modal
fidelity, legal words, provenance of every line shown to staff, the review trail, hardened YAML reading
and overlapping local rules."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys

import pytest
import yaml
from conftest import REPO, edit_yaml, knowledge_problems

from bot.knowledge import load, safety
from bot.knowledge.models import scenario_lines

POLICY = REPO / "knowledge" / "policy" / "trust.yml"


@pytest.fixture(scope="module")
def kb():
    return load()




def _cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=120, env=env)


# --- modal fidelity: the pure function --------------------------------------------------------------

@pytest.mark.parametrize("text, strength, expected", [
    ("Recording must not interfere with the examination.", "must", []),
    ("Recording must not interfere with the examination.", "should", ["must not"]),
    ("Staff views should shape local policy.", "should", []),
    ("Staff views should shape local policy.", "may", ["should"]),
    ("Patients are never refused care.", "should", ["never"]),
    ("Filming is not allowed here; it is forbidden and prohibited.", "should",
     ["not allowed", "forbidden", "prohibited"]),
    ("You mustn't film and you can't stay.", "may", ["mustn't", "can't"]),
    ("It is required.", "info", ["required"]),
    ("Permission is not required.", "info", []),                       # a negated obligation is weaker
    ("A live broadcast can't be checked or taken back.", "info", []),  # what is possible, not a duty
    ("We usually can't add phone files to PACS.", "info", []),
    ("Say what patients can record, not just what they can't.", "info", []),
    ("You ought to ask first.", "info", ["ought to"]),
    ("Recording can help people remember.", "info", []),
])
def test_strong_words_are_those_stronger_than_the_clause(text, strength, expected):
    assert safety.strong_words(text, strength) == expected


@pytest.mark.parametrize("text, allowed, faults", [
    ("Misuse may be a criminal offence.", ["criminal", "offence"], 0),
    ("Misuse is a criminal offence.", ["criminal", "offence"], 2),            # no hedge
    ("Recording your own care is illegal.", [], 1),                           # no clause uses it
    ("Sharing it may be unlawful.", ["offence"], 1),                          # not this clause's word
    ("It was filmed in breach of local policy.", [], 0),                      # the department's rules
    ("It may be a data-protection breach.", ["breach"], 0),
    ("It is a data-protection breach.", ["breach"], 1),
])
def test_legal_words_need_their_clause_and_a_hedge(text, allowed, faults):
    assert len(safety.legal_faults(text, allowed)) == faults


@pytest.mark.parametrize("text, harmful", [
    ("Take the phone off them until the scan is over.", True),
    ("Confiscate their phone.", True),
    ("Ask the relative to hand over the phone.", True),
    ("Ask them to delete the recording.", True),
    ("Refuse to continue the scan.", True),
    ("Cancel the appointment if they keep filming.", True),
    ("Stop their care until they put the phone away.", True),
    ("Don't take, grab or search the phone.", False),
    ("Do not demand that the recording is deleted.", False),
    ("Recording is not a reason to stop or refuse an examination or treatment.", False),
    ("Rebook only on safety grounds.", False),
    ("Ask them not to share the part showing other patients, and if local policy says so ask them to delete it.",
     False),
    ("Ask them to end the live stream before the scan continues.", False),
])
def test_instructions_the_guidance_contradicts_are_found(text, harmful):
    assert bool(safety.harmful_instructions(text)) is harmful


# --- modal fidelity and legal words over the real knowledge ------------------------------------------

def test_every_point_line_clause_and_local_rule_is_as_strong_as_its_clause_and_no_stronger(kb):
    assert safety.check_wording(kb) == []


def test_a_planted_must_over_a_should_clause_fails_the_knowledge_check(knowledge_copy):
    card = knowledge_copy / "scenarios" / "covert-recording-discovered.yml"
    text = card.read_text()
    planted = text.replace("point: \"Recording should be done openly and honestly",
                           "point: \"Recording must be done openly and honestly", 1)
    assert planted != text
    card.write_text(planted)
    expected = ("knowledge/scenarios/covert-recording-discovered.yml: entry 'covert-recording-discovered': "
                "field 'answer.why[4].point': says 'must' but its clause SoR-2019 5.5 is a 'should' clause")
    assert any(p.startswith(expected) for p in knowledge_problems(knowledge_copy))
    out = _cli("knowledge", "check", "--dir", str(knowledge_copy))
    assert out.returncode == 1 and expected in out.stderr


def test_a_cited_line_is_held_to_its_strongest_clause(knowledge_copy):
    edit_yaml(knowledge_copy / "scenarios" / "audio-clinical-discussion.yml",
          lambda d: d["answer"]["do_now"][1].update(text="You must keep the phone in view."))
    assert any("field 'answer.do_now[2]': says 'must' but its strongest clause SoR-2019 5.5 is a 'should'" in p
               for p in knowledge_problems(knowledge_copy))


def test_a_legal_claim_the_clause_does_not_make_fails(knowledge_copy):
    edit_yaml(knowledge_copy / "scenarios" / "covert-recording-discovered.yml",
          lambda d: d["answer"]["why"][0].update(point="Secret recording by a patient is illegal."))
    assert any("field 'answer.why[1].point': legal word 'illegal'" in p for p in knowledge_problems(knowledge_copy))


def test_no_card_calls_a_recording_illegal_or_unlawful(kb):
    words = re.compile(r"\b(illegal|unlawful|lawfully)\b", re.I)
    found = [(s.id, where) for s in kb.scenarios.values() for where, line in scenario_lines(s) if words.search(line.text)]
    found += [(s.id, p.cite) for s in kb.scenarios.values() for p in s.why if words.search(p.point)]
    assert found == []


def test_no_card_tells_staff_to_take_a_phone_delete_a_recording_or_refuse_care(kb):
    found = [(s.id, where, fault) for s in kb.scenarios.values() for where, line in scenario_lines(s)
             for fault in safety.harmful_instructions(line.text)]
    assert found == []


def test_a_card_line_telling_staff_to_confiscate_the_phone_is_refused(knowledge_copy):
    edit_yaml(knowledge_copy / "scenarios" / "refuses-to-stop.yml",
          lambda d: d["answer"]["do_now"].append({"text": "Confiscate the phone until they leave.",
                                                  "basis": "practice"}))
    assert any("field 'answer.do_now[7]': tells staff something the guidance contradicts: takes or searches "
               "the device" in p for p in knowledge_problems(knowledge_copy))


def test_a_local_rule_firmer_than_its_clauses_must_say_it_departs(knowledge_copy):
    def firm(d):
        rule = next(r for r in d["rules"] if r["id"] == "REC-01")
        rule["text"] = "Patients must always be allowed to audio-record discussions."
    edit_yaml(knowledge_copy / "policy" / "trust.yml", firm)
    assert any("entry 'REC-01': field 'text': says 'must', 'always'" in p and "departs_from_national" in p
               for p in knowledge_problems(knowledge_copy))


# --- provenance of every line shown to staff -----------------------------------------------------------

def test_every_line_shown_to_staff_has_citations_or_is_marked_practice(kb):
    lines = [line for s in kb.scenarios.values() for _, line in scenario_lines(s)]
    assert lines and all(bool(line.cite) != bool(line.basis) for line in lines)
    assert all(kb.is_citable(c) for line in lines for c in line.cite)
    # most of what staff are told rests on the guidance
    assert sum(1 for line in lines if line.cite) > 2 * sum(1 for line in lines if line.basis)


@pytest.mark.parametrize("line, message", [
    ("A plain sentence.", "must be a mapping {text, cite: [...]} or {text, basis: practice}, found text"),
    ({"text": "Both.", "cite": ["SoR-2019 5.1"], "basis": "practice"}, "give 'cite' or 'basis', not both"),
    ({"text": "Neither."}, "say where this comes from"),
    ({"text": "Guess.", "basis": "hunch"}, "unknown basis 'hunch' (use practice)"),
])
def test_a_line_without_exactly_one_provenance_is_refused(knowledge_copy, line, message):
    edit_yaml(knowledge_copy / "scenarios" / "phone-in-mri.yml", lambda d: d["answer"]["caveats"].append(line))
    problems = knowledge_problems(knowledge_copy)
    assert any("phone-in-mri.yml: entry 'phone-in-mri': field 'answer.caveats[3]" in p and message in p
               for p in problems), problems


def test_a_line_citing_an_unknown_clause_is_refused(knowledge_copy):
    edit_yaml(knowledge_copy / "scenarios" / "live-streaming.yml",
          lambda d: d["variants"][0]["do_now_first"][0].update(cite=["SoR-2019 9.9"]))
    assert knowledge_problems(knowledge_copy) == [
        "knowledge/scenarios/live-streaming.yml: entry 'live-streaming': field 'variants[1].do_now_first[1].cite': "
        "unknown citation 'SoR-2019 9.9'"]


def test_the_answer_says_where_each_line_comes_from(assistant):
    a = assistant.ask("relative filming during set-up in radiotherapy", scenario="companion-filming-setup",
                      facts={"where": ["radiotherapy"], "how": ["live_stream"]}, allow_clarify=False)
    data = a.to_dict()
    prov = data["provenance"]
    assert len(prov["do_now"]) == len(data["do_now"]) and len(prov["caveats"]) == len(data["caveats"])
    assert len(prov["say"]) == (1 if data["say"] else 0)
    card = assistant.kb.scenarios["companion-filming-setup"]
    assert len(data["do_now"]) > len(card.do_now)                      # the variants' steps come first
    assert all(p["basis"] in ("guidance", "local", "practice") for p in prov["do_now"] + prov["caveats"])
    assert all(p["cite"] for p in prov["do_now"] if p["basis"] == "guidance")
    mri = assistant.ask("phone in mri", scenario="phone-in-mri", allow_clarify=False).to_dict()
    assert {p["basis"] for p in mri["provenance"]["do_now"]} == {"practice"}  # MR safety is not the guidance
    assert all(p["cite"] == [] for p in mri["provenance"]["do_now"])


# --- schema ------------------------------------------------------------------------------------------

def test_a_misspelt_key_is_refused_with_a_suggestion(knowledge_copy):
    edit_yaml(knowledge_copy / "scenarios" / "phone-in-mri.yml",
          lambda d: d["answer"].update(caveat=d["answer"].pop("caveats")))
    assert knowledge_problems(knowledge_copy) == [
        "knowledge/scenarios/phone-in-mri.yml: entry 'phone-in-mri': field 'answer.caveat': "
        "unknown key (did you mean 'caveats'?)"]


def test_a_clause_with_an_unknown_strength_or_legal_word_is_refused(knowledge_copy):
    def change(d):
        d["clauses"][0]["strength"] = "shall"
        d["clauses"][0]["legal"] = ["tort"]
    edit_yaml(knowledge_copy / "clauses" / "MPS-2013.yml", change)
    problems = knowledge_problems(knowledge_copy)
    assert any("field 'strength': unknown strength 'shall'" in p for p in problems)
    assert any("field 'legal': unknown legal word 'tort'" in p for p in problems)


def test_quiz_vignettes_on_a_card_and_a_misconceptions_file_are_allowed(knowledge_copy):
    edit_yaml(knowledge_copy / "scenarios" / "phone-in-mri.yml",
          lambda d: d.update(quiz={"vignettes": [{"text": "anything the quiz module checks"}]}))
    (knowledge_copy / "misconceptions.yml").write_text("misconceptions:\n  - free: form\n")
    kb = load(knowledge_copy)
    assert kb.scenarios["phone-in-mri"].quiz == {"vignettes": [{"text": "anything the quiz module checks"}]}
    edit_yaml(knowledge_copy / "scenarios" / "phone-in-mri.yml", lambda d: d.update(quiz=["not", "a", "mapping"]))
    assert any("field 'quiz': must be a mapping, found list" in p for p in knowledge_problems(knowledge_copy))


# --- review trail --------------------------------------------------------------------------------------

def test_every_clause_and_card_is_reviewed_against_sources_that_exist(kb):
    items = [*kb.clauses.values(), *kb.scenarios.values()]
    assert all(x.reviewed and x.reviewed.by_role and x.reviewed.against for x in items)
    assert all(k in kb.sources for x in items for k in x.reviewed.against)


def test_a_card_without_reviewed_is_refused_and_one_awaiting_review_is_a_warning(knowledge_copy):
    edit_yaml(knowledge_copy / "scenarios" / "phone-in-mri.yml", lambda d: d.pop("reviewed"))
    assert knowledge_problems(knowledge_copy) == [
        "knowledge/scenarios/phone-in-mri.yml: entry 'phone-in-mri': field 'reviewed': missing field"]
    edit_yaml(knowledge_copy / "scenarios" / "phone-in-mri.yml", lambda d: d.update(reviewed=None))
    out = _cli("knowledge", "check", "--dir", str(knowledge_copy))
    assert out.returncode == 0
    assert "phone-in-mri.yml: entry 'phone-in-mri': field 'reviewed': not reviewed yet" in out.stdout


def test_a_review_older_than_a_source_change_is_a_warning(knowledge_copy):
    def changed(d):
        next(x for x in d["documents"] if x["key"] == "MDU-2019")["changed"] = "2030-01-01"
    edit_yaml(knowledge_copy / "sources.yml", changed)
    kb = load(knowledge_copy)
    stale = [str(w) for w in kb.warnings if "before MDU-2019 (changed 2030-01-01)" in w.message]
    assert any("entry 'MDU-2019'" in w for w in stale)                     # the clause itself
    assert any("covert-recording-discovered" in w for w in stale)          # a card citing it
    out = _cli("knowledge", "check", "--dir", str(knowledge_copy))
    assert out.returncode == 0 and "reviewed 2026-11-23, before MDU-2019 (changed 2030-01-01)" in out.stdout


def test_a_review_against_an_unknown_source_is_refused(knowledge_copy):
    edit_yaml(knowledge_copy / "scenarios" / "phone-in-mri.yml",
          lambda d: d["reviewed"].update(against=["SoR-2019", "SoR-2030"]))
    assert knowledge_problems(knowledge_copy) == [
        "knowledge/scenarios/phone-in-mri.yml: entry 'phone-in-mri': field 'reviewed.against': "
        "unknown document 'SoR-2030' (not in sources.yml)"]


def test_knowledge_not_reviewed_for_a_year_warns_on_every_answer(knowledge_copy):
    from bot.answering.engine import Assistant

    for path in [*knowledge_copy.glob("clauses/*.yml"), *knowledge_copy.glob("scenarios/*.yml")]:
        path.write_text(path.read_text().replace("date: 2026-11-23", "date: 2020-01-02"))
    old = Assistant(load(knowledge_copy))
    for text in ("relative started filming during setup", "what does 5.7 say", "hello"):
        data = old.ask(text).to_dict()
        assert any("not been reviewed since 02 January 2020" in w for w in data["warnings"]), text
        assert "not been reviewed since 02 January 2020" in data["reply"], text


def test_the_answer_names_the_situation_it_matched_first(assistant):
    a = assistant.ask("found pt secretly recording in her bag", department="xray-ct")
    assert a.kind == "answer" and not a.warnings
    assert a.to_dict()["reply"].splitlines()[0] == assistant.kb.scenarios[a.scenario].title


# --- reading untrusted YAML: policy check never shows a traceback --------------------------------------

BOMB = ("a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        + "".join(f"{n}: &{n} [{', '.join([f'*{p}'] * 10)}]\n" for p, n in zip("abcdefgh", "bcdefghi")))


@pytest.mark.parametrize("content, message", [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", "not UTF-8 text"),
    (b"- just\n- a list\n", "expected a mapping, found list"),
    (None, "field 'contacts': must be a list, found int"),
    (None, "field 'statements': must be a list, found int"),
    (BOMB.encode(), "alias bomb"),
], ids=["binary", "top-level-list", "contacts-5", "statements-5", "alias-bomb"])
def test_policy_check_reports_a_bad_file_in_one_line_without_a_traceback(tmp_path, content, message):
    bad = tmp_path / "bad.yml"
    if content is None:
        key = message.split("'")[1]
        data = yaml.safe_load(POLICY.read_text())
        data[key] = 5
        bad.write_text(yaml.safe_dump(data))
    else:
        bad.write_bytes(content)
    out = _cli("policy", "check", str(bad))
    assert out.returncode == 1
    assert "Traceback" not in out.stdout + out.stderr
    assert "verdict: INVALID" in out.stdout
    assert len([line for line in out.stdout.splitlines() if message in line]) == 1, out.stdout


def test_knowledge_check_refuses_an_alias_bomb_in_a_card(knowledge_copy):
    (knowledge_copy / "scenarios" / "phone-in-mri.yml").write_text(BOMB)
    out = _cli("knowledge", "check", "--dir", str(knowledge_copy))
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "knowledge/scenarios/phone-in-mri.yml: expands to more than" in out.stderr


def test_ordinary_repeated_values_written_by_a_yaml_dumper_still_load(knowledge_copy):
    # PyYAML writes a value used twice as an anchor and an alias; that is not a bomb.
    edit_yaml(knowledge_copy / "policy" / "trust.yml",
          lambda d: d["rules"][1].update(conditions=d["rules"][0]["conditions"]))
    assert "&id" in (knowledge_copy / "policy" / "trust.yml").read_text()
    assert load(knowledge_copy).policy.rules["REC-02"].conditions == load().policy.rules["REC-01"].conditions


# --- overlapping local rules (HAZ-04) -----------------------------------------------------------------

def test_policy_check_reports_overlapping_rules_that_do_not_say_which_decides(tmp_path):
    data = yaml.safe_load(POLICY.read_text())
    data["rules"] = [r for r in data["rules"] if r["id"] in ("REC-01", "REC-13")]
    data["rules"].append({"id": "FILM-OK", "title": "Patients may film their own care", "effect": "permit",
                          "applies_to": {"who": ["patient"], "how": ["video"]},
                          "text": "Patients may film their own examination.", "implements": ["SoR-2019 5.1"]})
    data["rules"].append({"id": "NO-VIDEO", "title": "No video in the department", "effect": "restrict",
                          "applies_to": {"how": ["video", "photo"]},
                          "text": "Video only with the duty superintendent's agreement.",
                          "implements": ["SoR-2019 5.6"]})
    overlapping = tmp_path / "overlap.yml"
    overlapping.write_text(yaml.safe_dump(data))
    out = _cli("policy", "check", str(overlapping))
    assert "LOCAL FILM-OK (permit) and LOCAL NO-VIDEO (restrict) can both match one situation (both cover how)" \
        in out.stdout
    data["rules"][-1]["text"] += " FILM-OK decides for patients filming their own care."
    overlapping.write_text(yaml.safe_dump(data))
    assert "LOCAL FILM-OK (permit) and LOCAL NO-VIDEO" not in _cli("policy", "check", str(overlapping)).stdout


def test_a_broken_knowledge_base_gives_no_answer_at_all(knowledge_copy):
    import os

    edit_yaml(knowledge_copy / "scenarios" / "phone-in-mri.yml", lambda d: d["answer"].pop("do_now"))
    out = _cli("ask", "--json", "phone taken into the mri scanner",
               env=dict(os.environ, KNOWLEDGE_DIR=str(knowledge_copy)))
    assert out.returncode == 1 and out.stdout == ""
    assert "knowledge base refused" in out.stderr and "field 'answer.do_now': missing field" in out.stderr


def test_today_is_used_for_the_review_age(kb):
    from bot.knowledge.review import age_warning, last_reviewed

    newest = last_reviewed(kb)
    assert age_warning(kb, newest + dt.timedelta(days=30)) is None
    assert "has not been reviewed since" in age_warning(kb, newest + dt.timedelta(days=400))
