"""Print the figures of `rasa test nlu --cross-validation` from its report folder."""

import json
import sys
from pathlib import Path

folder = Path(sys.argv[1] if len(sys.argv) > 1 else "results/nlu")
report = folder / "intent_report.json"
if not report.is_file():
    sys.exit(f"no {report}: did rasa test nlu run?")
data = json.loads(report.read_text())
print(f"intent cross-validation: accuracy {data['accuracy']:.3f}, weighted F1 {data['weighted avg']['f1-score']:.3f} "
      f"(full report: {report})")
