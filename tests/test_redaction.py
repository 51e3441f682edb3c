"""Redaction of patient identifiers (bot.redaction)."""
from __future__ import annotations

import io
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


@pytest.mark.parametrize("postcode", ["SW1A 1AA", "M1 1AE", "B33 8TH", "CR2 6XH", "DN55 1PT", "sw1a 1aa", "EC1A1BB"])
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
