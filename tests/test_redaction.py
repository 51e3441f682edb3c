"""Redaction of patient identifiers (bot.redaction)."""
from __future__ import annotations

import io
import json
import logging

import pytest

from bot.redaction import RedactingFilter, install_log_redaction, redact, uninstall_log_redaction

try:
    from tests.identifier_corpus import make_invalid_nhs, make_nhs, nhs_check_digit
except ImportError:  # tests/ is not a package: pytest put it on sys.path
    from identifier_corpus import make_invalid_nhs, make_nhs, nhs_check_digit

VALID_NHS = "9434765919"  # the NHS Digital example number
INVALID_NHS = "9434765918"  # same with a wrong check digit


def test_check_digit_helper_matches_known_number():
    assert nhs_check_digit(VALID_NHS[:9]) == int(VALID_NHS[-1])


@pytest.mark.parametrize(
    "text",
    [
        f"NHS number {VALID_NHS} please",
        "NHS number 943 476 5919 please",
        "NHS number 943-476-5919 please",
        "nhs no.943 476 5919.",
        "(943 476 5919)",
    ],
)
def test_valid_nhs_numbers_spaced_and_unspaced(text):
    out = redact(text)
    assert "[NHS-NUMBER]" in out
    assert "943" not in out and "5919" not in out


@pytest.mark.parametrize("text", [INVALID_NHS, "943 476 5918", "943-476-5918"])
def test_invalid_check_digit_is_still_removed_as_a_number(text):
    out = redact(f"number {text} here")
    assert "[NHS-NUMBER]" not in out
    assert "[HOSPITAL-NUMBER]" in out or "[PHONE]" in out
    assert "5918" not in out


def test_random_synthetic_nhs_numbers():
    import random

    rng = random.Random(7)
    for _ in range(200):
        good, bad = make_nhs(rng), make_invalid_nhs(rng)
        assert redact(f"pt {good}") == "pt [NHS-NUMBER]"
        assert bad not in redact(f"pt {bad}") and "[NHS-NUMBER]" not in redact(f"id {bad}")


@pytest.mark.parametrize(
    "text, placeholder, gone",
    [
        ("MRN: K1234567 on the form", "[HOSPITAL-NUMBER]", "1234567"),
        ("hospital no RX12345", "[HOSPITAL-NUMBER]", "12345"),
        ("hospital number 12 34", "[HOSPITAL-NUMBER]", "12 34"),
        ("unit no. 123456", "[HOSPITAL-NUMBER]", "123456"),
        ("the number on her band is 20481234", "[HOSPITAL-NUMBER]", "20481234"),
        ("RIS number: A1234567B", "[HOSPITAL-NUMBER]", "1234567"),
        ("case no: 2022/123", "[HOSPITAL-NUMBER]", "2022/123"),
    ],
)
def test_hospital_numbers(text, placeholder, gone):
    out = redact(text)
    assert placeholder in out and gone not in out


@pytest.mark.parametrize(
    "date",
    [
        "12/03/1985", "1/3/1985", "12.03.1985", "12.03.85", "1985-03-12", "12-03-1985",
        "12 March 1985", "12th March 1985", "1st of May 2020", "March 12, 1985",
        "12-Mar-1985", "12 Mar 85", "March 1985", "12 03 1985", "7 May",
    ],
)
def test_dates_in_several_formats(date):
    out = redact(f"seen on {date} in CT")
    assert out == "seen on [DATE] in CT", out


@pytest.mark.parametrize("text", ["DOB 3/85", "born in 1985", "date of birth: 12/3/85", "d.o.b. 12.3.1985"])
def test_dates_of_birth_with_a_cue(text):
    out = redact(text)
    assert "[DATE]" in out and "85" not in out


@pytest.mark.parametrize(
    "phone",
    ["07700 900123", "07700900123", "0161 496 0000", "+44 7700 900123", "+44 (0)20 7946 0958",
     "(0117) 496 0123", "020-7946-0321"],
)
def test_phone_numbers(phone):
    out = redact(f"call her on {phone} now")
    assert out == "call her on [PHONE] now", out


def test_short_number_after_phone_cue():
    assert redact("ring 496 0000 after 5") == "ring [PHONE] after 5"


@pytest.mark.parametrize("email", ["jo.bloggs@nhs.net", "x_y+z@example.co.uk", "a@b.local", "J.Smith99@Trust.NHS.UK"])
def test_email_addresses(email):
    assert redact(f"email {email} now") == "email [EMAIL] now"


@pytest.mark.parametrize("postcode", ["SW1A 1AA", "M1 1AE", "B33 8TH", "CR2 6XH", "DN55 1PT", "sw1a 1aa", "EC1A1BB", "pl4 9st", "m1 1st", "ls11 4th"])
def test_uk_postcodes(postcode):
    assert redact(f"lives at {postcode}, near") == "lives at [POSTCODE], near"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Mrs Smith is filming", "Mrs [NAME] is filming"),
        ("mrs smith is filming", "mrs [NAME] is filming"),
        ("Mr. J. A. Smith-Jones said no", "Mr. [NAME] said no"),
        ("Dr O'Brien asked", "Dr [NAME] asked"),
        ("Miss McDonald wants a copy", "Miss [NAME] wants a copy"),
        ("Mr QUACKENBUSH rang", "Mr [NAME] rang"),
        ("patient called john smith who is filming", "patient called [NAME] who is filming"),
        ("a patient named Anwen Featherstone", "a patient named [NAME]"),
        ("pt John O'Brien filmed it", "pt [NAME] filmed it"),
        ("pt. Zoë Wojciechowski", "pt. [NAME]"),
        ("his wife Mary recorded it", "his wife [NAME] recorded it"),
        ("name: Smith, John", "name: [NAME]"),
        ("my name is sarah and I work in CT", "my name is [NAME] and I work in CT"),
        ("Mrs Smith NHS 943 476 5919", "Mrs [NAME] NHS [NHS-NUMBER]"),
        ("Mrs Hess and Mr Hiss", "Mrs [NAME] and Mr [NAME]"),
        # a name before a possessive and a family word: how a child patient's parent is named
        ("Daisy Brown's dad wants a photo of the screen", "[NAME]'s dad wants a photo of the screen"),
        ("Olu's nan is filming", "[NAME]'s nan is filming"),
        ("Could Ellie's mum film the scan?", "Could [NAME]'s mum film the scan?"),
        ("Jack O'Brien’s stepdad recorded it", "[NAME]’s stepdad recorded it"),
        ("Sarah's mother-in-law filmed", "[NAME]'s mother-in-law filmed"),
        ("the Joneses' grandad", "the [NAME]' grandad"),
    ],
)
def test_names_after_cues(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "SoR-2019 5.10",
        "SCoR point vi",
        "CT",
        "20 week scan",
        "5.7",
        "CXR",
        "Mrs",
        "Is it Mrs or Ms on the form?",
        "ward 7",
        "bay 3",
        "room 2",
        "see reference 5.10",
        "pt refuses the scan",
        "the patient called me over",
        "I don't want to miss anything",
        "Patient Advice and Liaison Service",
        "Mr CT",
        "You may record audio, see SoR-2019 5.10 and SCoR point vi.",
        "A relative is filming the 20 week scan in room 2 (ward 7, bay 3): CT or CXR?",
        "Take 2 images at 5.7 mGy; 12 patients a day; ext 4567",
        "vitamin b12 2nd dose",
        "answer 3fda5250-d6a3-452e-8b5b-f99c9cb93575 was helpful",
        # imaging abbreviations that look like titles
        "filming in the MR scanner, is it allowed",
        "is this implant mr conditional",
        "tell the MR lead or MR responsible person",
        "the dr detector won't pair",
        "MR pt insists on recording with his phone",
        "MS patient filming in DR room",
        # sentence ends, clause numbers, typography
        "that might harm the patient. Nor may they",
        "may not be shown or named online without consent",
        "In its recommendation 1.5.16 it advises",
        "a member was told she can't refuse to be filmed — is that right…",
        # a role before a possessive and a family word is no name
        "Patient's dad is filming",
        "Baby's mum wants a scan photo",
        "The patient's aunt keeps filming",
        "Our member's husband recorded the scan",
        "her son's phone is out",
        "Yesterday's mum was fine about it",
    ],
)
def test_clinical_text_survives(text):
    assert redact(text) == text


def test_mixed_message():
    text = ("Mrs Quackenbush (NHS 943 476 5919, DOB 12/03/1985, SW1A 1AA, 07700 900123, "
            "q@example.org, MRN K1234567) is filming in CT; SoR-2019 5.10?")
    assert redact(text) == (
        "Mrs [NAME] (NHS [NHS-NUMBER], DOB [DATE], [POSTCODE], [PHONE], [EMAIL], "
        "MRN [HOSPITAL-NUMBER]) is filming in CT; SoR-2019 5.10?"
    )


@pytest.mark.parametrize(
    "text",
    [
        "９４３ ４７６ ５９１９",  # full-width digits
        "943\u200b476\u200b5919",  # zero-width spaces
        "943\u00a0476\u00a05919",  # non-breaking spaces
        "943\u2013476\u20135919",  # en dashes
        "٩٤٣٤٧٦٥٩١٩",  # Arabic-Indic digits
    ],
)
def test_odd_encodings(text):
    assert redact(f"id {text} ok") == "id [NHS-NUMBER] ok"


def test_emoji_control_characters_and_lone_surrogates():
    assert redact("😀 Mrs Smith 😀") == "😀 Mrs [NAME] 😀"
    out = redact("a\x00b\ud800c 943 476 5919")
    assert "\x00" not in out and "[NHS-NUMBER]" in out
    out.encode("utf-8")  # storable in any database


def test_very_long_input_is_handled_whole():
    filler = "the relative asked about filming in CT again. " * 2000  # ~94k chars
    text = filler + "NHS 943 476 5919 " + filler + " Mrs Smith " + "9" * 50_000
    out = redact(text)
    assert "943 476 5919" not in out and "Smith" not in out and "99999999" not in out
    assert out.count("[NHS-NUMBER]") == 1 and "[NAME]" in out


def test_identifier_across_window_boundary():
    # Long input is scanned in windows; an identifier on a boundary must go.
    for pad in range(1980, 2010, 3):
        out = redact("x" * pad + " 943 476 5919 " + "y " * 1500)
        assert "5919" not in out, pad


def test_uuids_survive():
    # Answer ids travel in slots and payloads; an all-digit group is not an MRN.
    for answer_id in ("12345678-1234-4123-8123-123456789012", "3fda5250-d6a3-452e-8b5b-f99c9cb93575"):
        assert redact(f"feedback for {answer_id}: helpful") == f"feedback for {answer_id}: helpful"
    assert redact("12345678-1234-4123-8123-123456789012 and 943 476 5919").endswith("[NHS-NUMBER]")


def test_empty_and_none():
    assert redact("") == ""
    assert redact(None) == ""  # type: ignore[arg-type]


def test_redaction_is_idempotent():
    once = redact("Mrs Smith, 943 476 5919, 12/03/1985, SW1A 1AA")
    assert redact(once) == once


def test_logging_filter_redacts_message_args_and_traceback():
    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    handler.addFilter(RedactingFilter())
    log = logging.getLogger("test.redaction.filter")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning("asked about %s born %s", "Mrs Smith", "12/03/1985")
        try:
            raise ValueError("bad NHS 943 476 5919")
        except ValueError:
            log.exception("failed for jo@example.org")
    finally:
        log.removeHandler(handler)
    out = buf.getvalue()
    assert "Smith" not in out and "12/03/1985" not in out
    assert "5919" not in out and "jo@example.org" not in out
    assert "[NAME]" in out and "[NHS-NUMBER]" in out and "ValueError" in out


def test_install_log_redaction_covers_handlers_added_later():
    buf = io.StringIO()
    install_log_redaction()
    try:
        log = logging.getLogger("test.redaction.factory")
        handler = logging.StreamHandler(buf)  # added after install, no filter
        log.addHandler(handler)
        log.propagate = False
        log.error("patient called john smith, 07700 900123")
        log.removeHandler(handler)
    finally:
        uninstall_log_redaction()
    assert buf.getvalue().strip() == "patient called [NAME], [PHONE]"


# --- leak classes from the security review of 2026-11-23 (H1, H2, H3, L4) -------------------

SEPARATED_NHS = [
    "943.476.5919", "943/476/5919", "943_476_5919", "943  476  5919", "943\t476\t5919",
    "943\n476\n5919", "943\r\n476\r\n5919", "943\u2028476\u20285919", "943\u0085476\u00855919",
    "943\u180e476\u180e5919", "943\u200e476\u200f5919", "943\u2063476\u20635919",
    "943\u061c476\u061c5919", "9\u200b4\u200d3\u20604765919", "943 . 476 . 5919", "943\u00b7476\u00b75919",
    "\u2468\u2463\u2462 \u2463\u2466\u2465 \u2464\u2468\u2460\u2468",  # circled digits
]


@pytest.mark.parametrize("number", SEPARATED_NHS)
def test_nhs_numbers_with_any_separator_are_removed_with_or_without_a_cue(number):
    for text in (f"NHS {number} filmed", f"NHS no {number} filmed", f"id {number} filmed", number):
        out = redact(text)
        assert "[NHS-NUMBER]" in out, (text, out)
        assert not any(c.isdigit() for c in out), (text, out)


@pytest.mark.parametrize(
    "text, kept",
    [
        # The old pattern's look-ahead gave digits back: "[HOSPITAL-NUMBER]3.476.5919".
        ("NHS no 943.476.5919", "NHS no "),
        ("MRN 123.456.789 on the form", "MRN  on the form"),
        ("MRN: 1234.5678", "MRN: "),
        ("hospital no 12/345/678.", "hospital no ."),
        ("NHS 943.476.5918 (wrong check digit)", "NHS  (wrong check digit)"),
    ],
)
def test_dotted_numbers_are_removed_whole(text, kept):
    out = redact(text)
    assert not any(c.isdigit() for c in out), out
    for placeholder in PLACEHOLDERS_TEXT:
        out = out.replace(placeholder, "")
    assert out == kept


PLACEHOLDERS_TEXT = ["[NHS-NUMBER]", "[HOSPITAL-NUMBER]", "[DATE]", "[PHONE]", "[EMAIL]", "[POSTCODE]", "[NAME]"]


@pytest.mark.parametrize("text", ["DOB 3.3.87", "DOB 3.12.87", "born 1.2.03", "DOB: 9.9.99", "d.o.b. 1.1.01",
                                  "date of birth 3 . 3 . 87", "born on 3_3_87"])
def test_dotted_dates_of_birth_after_a_cue(text):
    out = redact(f"{text} filming in CT")
    assert out.endswith("[DATE] filming in CT") and not any(c.isdigit() for c in out), out


@pytest.mark.parametrize(
    "text",
    ["5.10", "SoR-2019 5.7", "4.2", "see 5.10 and 4.2", "clause 1.5.16", "SCoR-2014 (vi)", "at 10:30 in room 3",
     "ward 7", "Ward 7 bay 2", "2.5 mGy", "a dose of 2.5 mGy at 10:30", "the MRI list at 09:15", "version 3.2.1"],
)
def test_clause_numbers_times_and_doses_survive(text):
    assert redact(text) == text


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Mrs Ward is filming", "Mrs [NAME] is filming"),
        ("Mr Ward said no", "Mr [NAME] said no"),
        ("Mrs May recorded it", "Mrs [NAME] recorded it"),
        ("Mr Still wants a copy", "Mr [NAME] wants a copy"),
        ("Mrs Bay is on ward 7", "Mrs [NAME] is on ward 7"),
        ("Mrs Rose Ward is filming", "Mrs [NAME] is filming"),
        ("patient: John Smith", "patient: [NAME]"),
        ("Name - John Smith", "Name - [NAME]"),
        ("Pt name John Smith", "Pt name [NAME]"),
        ("the patient's name is john smith", "the patient's name is [NAME]"),
        ("name:Smith", "name:[NAME]"),
        ("Mr\nSmith filmed", "Mr\n[NAME] filmed"),
        ("Mr\u200bSmith filmed", "Mr\u200b[NAME] filmed"),
        ("Mr\tSmith", "Mr\t[NAME]"),
        ("\u041cr Smith filmed", "\u041cr [NAME] filmed"),  # Cyrillic Em
        ("\u039crs Smith filmed", "\u039crs [NAME] filmed"),  # Greek Mu
        ("Mr Sm\u0456th filmed", "Mr [NAME] filmed"),  # Cyrillic i inside the name
        ("Mr And Mrs Smith", "Mr And Mrs [NAME]"),
    ],
)
def test_names_the_review_found_kept(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    ["check the patient name band", "Is it Mrs or Ms on the form?", "Mr CT", "patient-facing staff",
     "the patient called security"],
)
def test_name_cues_without_a_name_keep_the_text(text):
    assert redact(text) == text


@pytest.mark.parametrize(
    "text, placeholder",
    [
        ("07700.900.123", "[PHONE]"),
        ("+447700900123x", "[PHONE]"),
        ("07700900123ext", "[PHONE]"),
        ("SW1A-1AA", "[POSTCODE]"),
        ("sw1a  1aa", "[POSTCODE]"),
        ("SW1A\u00a0\u00a01AA", "[POSTCODE]"),
        ("john\u200b@example.com", "[EMAIL]"),
        ("jo\u2060hn@exam\u200dple.com", "[EMAIL]"),
        ("john\uff20example.com", "[EMAIL]"),  # full-width at sign
    ],
)
def test_phones_postcodes_and_emails_in_odd_forms(text, placeholder):
    out = redact(f"contact {text} today")
    assert out == f"contact {placeholder}" + out[len(f"contact {placeholder}"):] and placeholder in out, out
    assert not any(c.isdigit() for c in out) and "john" not in out and "1AA" not in out.upper(), out


def test_text_outside_an_identifier_is_kept_as_typed():
    # Matching sees normalised text, but only the identifier's own characters
    # are replaced: line breaks in a traceback and other scripts survive.
    text = "Traceback:\n  line 1\n\tКирилл asked\u00a0about 943\u00a0476\u00a05919\n  end"
    assert redact(text) == "Traceback:\n  line 1\n\tКирилл asked\u00a0about [NHS-NUMBER]\n  end"


@pytest.mark.parametrize(
    "line",
    [
        json.dumps({"event": "rest.message.received.failure", "text": "NHS 943\u00a0476\u00a05919"}),
        json.dumps({"event": "x", "text": "Mrs O\u2019Brien\tfilmed, 943\t476\t5919"}),
        json.dumps({"text": "john\u200b@example.com DOB\u00a03.3.87"}),
        repr({"text": "NHS 943\xa0476\xa05919 Mrs O\u2019Brien"}).encode("ascii", "backslashreplace").decode(),
    ],
)
def test_json_and_repr_escaped_log_lines_are_redacted_and_stay_valid(line):
    assert "\\u" in line or "\\x" in line or "\\t" in line  # the escapes are really there
    out = redact(line)
    assert "5919" not in out and "Brien" not in out and "john" not in out and "87" not in out, out
    if line.startswith("{\""):
        json.loads(out)  # still a JSON line


def test_warnings_are_redacted_once_log_redaction_is_installed():
    # Rasa reports an unparsable "/intent{...}" with warnings.warn, quoting it.
    import warnings

    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    root = logging.getLogger()
    root.addHandler(handler)
    install_log_redaction()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            install_log_redaction()  # catch_warnings restored showwarning: install again inside
            warnings.warn("Failed to parse arguments in line '/Mr John Smith NHS 943 476 5919 filmed'")
    finally:
        uninstall_log_redaction()
        root.removeHandler(handler)
    out = buf.getvalue()
    assert "Failed to parse arguments" in out and "[NHS-NUMBER]" in out and "[NAME]" in out, out
    assert "5919" not in out and "Smith" not in out


def test_warnings_written_to_a_file_are_redacted():
    import warnings

    install_log_redaction()
    try:
        buf = io.StringIO()
        warnings.showwarning("pt Jane Doe DOB 03/03/1987", UserWarning, "x.py", 1, file=buf)
    finally:
        uninstall_log_redaction()
    assert "Doe" not in buf.getvalue() and "1987" not in buf.getvalue() and "[DATE]" in buf.getvalue()


def test_uninstall_restores_warnings():
    import warnings

    before = warnings.showwarning
    install_log_redaction()
    assert warnings.showwarning is not before
    uninstall_log_redaction()
    assert warnings.showwarning is before


# --- bounded cost --------------------------------------------------------------------------

ADVERSARIAL = {
    "long word then @": lambda n: "a" * n + " @",
    "dots": lambda n: "1." * n,
    "titles": lambda n: "Mr " * n,
    "spaced digits": lambda n: "1 " * n,
    "dashed digits": lambda n: "12-" * n,
    "slashed digits": lambda n: "1/" * n,
    "at signs": lambda n: "a@" * n,
    "zero-width": lambda n: "9\u200b" * n,
    "escapes": lambda n: "9\\u00a0" * n,
    "cued numbers": lambda n: "MRN 1 " * n,
    "dob": lambda n: "DOB 3." * n,
    "long digits": lambda n: "9" * n,
    "names": lambda n: "Mrs Ward Rose " * n,
    "emails": lambda n: "a.b@c.d " * n,
}


def _best_time(text: str) -> float:
    import time

    # CPU time of this process: other work on a shared machine hardly moves it.
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        redact(text)
        best = min(best, time.process_time() - start)
    return best


@pytest.mark.parametrize("kind", sorted(ADVERSARIAL))
def test_redaction_cost_grows_linearly(kind):
    # A complexity check, not a speed limit: linear work makes 8x the input
    # cost about 8x the time; the old quadratic e-mail pattern cost 64x.
    make = ADVERSARIAL[kind]
    n = 3000
    small = _best_time(make(n))
    while small < 0.003 and n < 24_000:  # too quick to time reliably: grow it
        n *= 2
        small = _best_time(make(n))
    large = _best_time(make(8 * n))
    assert large / max(small, 1e-4) < 20, (kind, n, small, large)
