"""Entry point for ``python -m bot``."""

import sys

# thinc (under spaCy) imports TensorFlow when it is installed, which Rasa needs
# but the core never does; blocking it here saves seconds on every CLI call.
sys.modules.setdefault("tensorflow", None)  # type: ignore[arg-type]

from bot.serving.cli import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main())
