"""Where the project's files live, resolved from this package's location."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
KNOWLEDGE = Path(os.environ.get("KNOWLEDGE_DIR", REPO / "knowledge"))
NLU_DATA = REPO / "data" / "nlu"
BUILD = Path(os.environ.get("BUILD_DIR", REPO / "build"))
SPACY_MODEL = BUILD / "spacy_model"
CORE_MODEL = BUILD / "core_model.pkl"
VAR = Path(os.environ.get("VAR_DIR", REPO / "var"))
