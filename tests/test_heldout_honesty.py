"""The held-out sets are really held out: no copied or lightly reworded training text.

A held-out figure means something only if none of its questions, nor a close
paraphrase of one, was trained on. The classifier trains on every example in
data/nlu/**/*.yml and on every scenario card's title and summary, so each
held-out text is compared with all of those, and the two held-out files are
checked for duplicates within and between them.

Each check has a positive control that plants a copied training sentence and
expects the check to flag it, so a check that silently stopped working fails.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
HELDOUT_FILES = (ROOT / "tests" / "data" / "heldout.yml", ROOT / "tests" / "data" / "heldout_unseen.yml")
NLU_GLOB = "data/nlu/**/*.yml"
CARD_GLOB = "knowledge/scenarios/*.yml"

RUN_LENGTH = 5
# Character 4-gram Jaccard (on lower-cased, punctuation-free text) above which a
# held-out text counts as a paraphrase of a training text. Chosen by reading the
# nearest training text of each of the ~420 held-out texts (issue 20):
#   > 0.40       almost all rewordings or template copies ("is the coffee shop open
#                on sundays" / "is the costa open on sundays", 0.51);
#   0.35 - 0.40  still about 9 in 10 paraphrases ("a journalist has been filming in
#                our waiting room" / "a journalist is recording in the waiting
#                room", 0.37);
#   0.30 - 0.35  a coin flip between paraphrase and plain topical overlap;
#   < 0.30       topical overlap only: two different sentences about the same card
#                share domain words ("pt", "recording", "phone") and little else.
# So flag above 0.35. Jaccard, unlike TF-IDF cosine, does not depend on the
# training corpus (the threshold keeps its meaning as data is added) and does not
# score a short text high just because a longer one contains it.
JACCARD_THRESHOLD = 0.35
NGRAM = 4

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C loader when built: training data is large
_ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")


@dataclass(frozen=True)
class Text:
    where: str  # file and section, for failure messages
    text: str


def strip_annotations(text: str) -> str:
    """`[mum](who)` and `[mum]{"entity": "who"}` both train on the word "mum"."""
    return _ANNOTATION.sub(r"\1", text)


def _intent_examples(block: object) -> list[str]:
    # Rasa 3 allows both a block string of "- text" lines and a list of
    # {text: ..., metadata: ...} mappings.
    if isinstance(block, str):
        return [line.strip()[2:] for line in block.splitlines() if line.strip().startswith("- ")]
    if isinstance(block, list):
        return [str(item["text"]) if isinstance(item, dict) else str(item) for item in block]
    return []


def training_texts(root: Path = ROOT) -> list[Text]:
    """Every text the classifier trains on: NLU intent examples, card titles and summaries."""
    found: list[Text] = []
    nlu_files = sorted(root.glob(NLU_GLOB))
    assert nlu_files, f"no training files match {NLU_GLOB}"
    for path in nlu_files:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER) or {}
        for entry in data.get("nlu") or []:
            if "intent" not in entry:
                continue  # synonyms, regexes and lookup tables are not example sentences
            for example in _intent_examples(entry.get("examples")):
                text = strip_annotations(example).strip()
                if text:
                    found.append(Text(f"{path.relative_to(root)} {entry['intent']}", text))
    cards = sorted(root.glob(CARD_GLOB))
    assert cards, f"no scenario cards match {CARD_GLOB}"
    for path in cards:
        card = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
        for field in ("title", "summary"):
            found.append(Text(f"{path.relative_to(root)} {field}", str(card[field]).strip()))
    return found


def heldout_texts(path: Path) -> list[Text]:
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
    found: list[Text] = []
    for section, items in data.items():
        for item in items or []:
            text = item["text"] if isinstance(item, dict) else item
            found.append(Text(f"{path.name} {section}", str(text)))
    return found


def tokens(text: str) -> list[str]:
    return re.sub(r"[^\w\s]+", " ", text.lower()).split()


def _runs(text: str, n: int = RUN_LENGTH) -> set[tuple[str, ...]]:
    words = tokens(text)
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


def _grams(text: str, n: int = NGRAM) -> frozenset[str]:
    plain = " ".join(tokens(text))
    return frozenset(plain[i:i + n] for i in range(max(1, len(plain) - n + 1)))


def shared_runs(heldout: Iterable[Text], training: Sequence[Text]) -> list[tuple[Text, Text, str]]:
    """Held-out texts sharing a RUN_LENGTH-word run with a training text."""
    index: dict[tuple[str, ...], Text] = {}
    for t in training:
        for run in _runs(t.text):
            index.setdefault(run, t)
    hits = []
    for h in heldout:
        for run in sorted(_runs(h.text)):
            if run in index:
                hits.append((h, index[run], " ".join(run)))
                break
    return hits


def most_similar(heldout: Iterable[Text], training: Sequence[Text]) -> list[tuple[float, Text, Text]]:
    """For each held-out text, its nearest training text by character 4-gram Jaccard, best first."""
    train_grams = [_grams(t.text) for t in training]
    # An inverted index counts shared grams without comparing every pair of sets.
    postings: dict[str, list[int]] = {}
    for i, grams in enumerate(train_grams):
        for g in grams:
            postings.setdefault(g, []).append(i)
    best: list[tuple[float, Text, Text]] = []
    for h in heldout:
        hg = _grams(h.text)
        shared: Counter[int] = Counter()
        for g in hg:
            shared.update(postings.get(g, ()))
        score, match = max(
            ((n / (len(hg) + len(train_grams[i]) - n), i) for i, n in shared.items()), default=(0.0, 0)
        )
        best.append((score, h, training[match]))
    return sorted(best, key=lambda p: -p[0])


def duplicates(texts: Iterable[Text]) -> list[tuple[Text, Text]]:
    """Pairs of texts that are the same once case, punctuation and spacing are ignored."""
    seen: dict[str, Text] = {}
    dups = []
    for t in texts:
        key = " ".join(tokens(t.text))
        if key in seen:
            dups.append((seen[key], t))
        else:
            seen[key] = t
    return dups


def _report(pairs: Iterable[tuple[float, Text, Text]], limit: int = 10) -> str:
    return "\n".join(
        f"  {score:.2f}  [{h.where}] {h.text!r}\n        ~ [{t.where}] {t.text!r}"
        for score, h, t in list(pairs)[:limit]
    )


@pytest.fixture(scope="module")
def training() -> list[Text]:
    return training_texts()


@pytest.fixture(scope="module")
def heldout() -> list[Text]:
    return [t for path in HELDOUT_FILES for t in heldout_texts(path)]


def test_training_texts_are_found_in_every_format(training):
    where = {t.where.split()[0] for t in training}
    assert any(w.startswith("data/nlu/") for w in where)
    assert any(w.startswith("knowledge/scenarios/") for w in where)
    assert not any("[" in t.text and "](" in t.text for t in training), "entity annotations left in"


def test_annotations_are_stripped_and_both_example_formats_are_read(tmp_path):
    nlu = tmp_path / "data" / "nlu" / "situations"
    nlu.mkdir(parents=True)
    (nlu / "one-card.yml").write_text(
        'nlu:\n- intent: describe_situation\n  examples:\n  - text: |\n      [mum](who) is filming the x-ray\n'
        "    metadata:\n      scenario: x\n"
        '- intent: greet\n  examples: |\n    - hiya [there]{"entity": "x"}\n'
        "- synonym: mum\n  examples: |\n    - mam\n",
        encoding="utf-8",
    )
    cards = tmp_path / "knowledge" / "scenarios"
    cards.mkdir(parents=True)
    (cards / "x.yml").write_text("id: x\ntitle: A title\nsummary: A summary.\n", encoding="utf-8")
    texts = sorted(t.text for t in training_texts(tmp_path))
    assert texts == ["A summary.", "A title", "hiya there", "mum is filming the x-ray"]


def test_no_heldout_text_shares_a_five_word_run_with_training(heldout, training):
    hits = shared_runs(heldout, training)
    lines = "\n".join(
        f"  [{h.where}] {h.text!r}\n     shares {run!r} with [{t.where}] {t.text!r}" for h, t, run in hits
    )
    assert not hits, f"{len(hits)} held-out texts share a {RUN_LENGTH}-word run with training text:\n{lines}"


def test_no_heldout_text_is_a_close_paraphrase_of_training(heldout, training):
    ranked = most_similar(heldout, training)
    over = [p for p in ranked if p[0] > JACCARD_THRESHOLD]
    assert not over, (
        f"{len(over)} held-out texts have char-{NGRAM}-gram Jaccard > {JACCARD_THRESHOLD} with a training text; "
        f"top 10 most similar pairs:\n{_report(ranked)}"
    )


def test_no_duplicates_within_or_across_heldout_files(heldout):
    dups = duplicates(heldout)
    lines = "\n".join(f"  [{a.where}] {a.text!r} = [{b.where}] {b.text!r}" for a, b in dups)
    assert not dups, f"duplicated held-out texts:\n{lines}"


def test_unseen_set_labels_are_real_and_cover_every_card():
    # A misspelt card id or clause key would make a case impossible to pass.
    unseen = yaml.load(HELDOUT_FILES[1].read_text(encoding="utf-8"), Loader=_LOADER)
    cards = {yaml.load(p.read_text(encoding="utf-8"), Loader=_LOADER)["id"] for p in ROOT.glob(CARD_GLOB)}
    clauses = {
        c["id"]
        for p in ROOT.glob("knowledge/clauses/*.yml")
        for c in yaml.load(p.read_text(encoding="utf-8"), Loader=_LOADER)["clauses"]
    }
    labelled = unseen["situations"] + unseen["general"]
    assert {i["scenario"] for i in unseen["situations"]} <= cards
    assert {i["scenario"] for i in unseen["general"]} - {None} <= cards
    bad_cites = {c for i in unseen["general"] for c in i["cites"]} - clauses
    assert not bad_cites, f"cited clauses that do not exist: {bad_cites}"
    assert all(1 <= len(i["cites"]) <= 3 for i in unseen["general"])
    thin = {c for c in cards if sum(i["scenario"] == c for i in labelled) < 2}
    assert not thin, f"cards with fewer than two unseen cases: {thin}"


# --- positive controls: each check flags a planted copy ---------------------


def _planted(training: Sequence[Text]) -> Text:
    # A training example long enough to hold several 5-word runs.
    source = next(t for t in training if t.where.startswith("data/nlu/") and len(tokens(t.text)) >= 8)
    return Text("planted", source.text)


def test_control_copied_training_sentence_shares_a_run(heldout, training):
    planted = _planted(training)
    hits = shared_runs([*heldout[:20], planted], training)
    assert planted in [h for h, _, _ in hits]


def test_control_copied_training_sentence_is_flagged_as_similar(heldout, training):
    planted = _planted(training)
    ranked = most_similar([*heldout[:20], planted], training)
    flagged = [h for score, h, _ in ranked if score > JACCARD_THRESHOLD]
    assert planted in flagged


def test_control_lightly_reworded_copy_is_flagged_although_no_run_survives(heldout, training):
    # Change every fourth word: no 5-word run is left, but it is still a paraphrase.
    source = _planted(training)
    words = tokens(source.text)
    reworded = Text("planted", " ".join(w + "s" if i % 4 == 3 else w for i, w in enumerate(words)))
    assert not shared_runs([reworded], training)
    flagged = [h for score, h, _ in most_similar([reworded], training) if score > JACCARD_THRESHOLD]
    assert flagged == [reworded]


def test_control_real_paraphrase_is_flagged_and_topical_overlap_is_not():
    # Pairs measured when the threshold was chosen: the first is a reworded copy
    # with no 5-word run in common; the second are two different situations for
    # neighbouring cards that share only domain words.
    trained = [Text("planted", "a journalist is recording in the waiting room"),
               Text("planted", "pt wants to add the recording of her results appt to her record")]
    paraphrase = Text("heldout", "a journalist has been filming in our waiting room")
    topical = Text("heldout", "her son wants a recording of the results for her, shes got vascular dementia")
    assert not shared_runs([paraphrase, topical], trained)
    scores = {h.text: score for score, h, _ in most_similar([paraphrase, topical], trained)}
    assert scores[paraphrase.text] > JACCARD_THRESHOLD
    assert scores[topical.text] <= JACCARD_THRESHOLD


def test_control_copied_heldout_sentence_is_a_duplicate(heldout):
    first_file, second_file = (heldout_texts(p) for p in HELDOUT_FILES)
    copy = Text("planted", first_file[0].text.upper() + "!")
    assert duplicates([*first_file, copy]) == [(first_file[0], copy)]
    assert duplicates([*second_file, copy]) == []
    assert (first_file[0], copy) in duplicates([*first_file, *second_file, copy])
