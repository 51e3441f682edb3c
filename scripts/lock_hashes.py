"""Add the sha256 of each pinned file to a requirements file, for `pip install --require-hashes`.

    .venv/bin/pip download --no-deps -d /tmp/wheels -r requirements.lock
    .venv/bin/python scripts/lock_hashes.py requirements.lock /tmp/wheels

Each ``name==version`` line (hashes already there are replaced) gets the hashes
of the files pip downloaded for it: the ones pip installs on this platform
(Linux x86-64, CPython 3.10, the platform Rasa 3.6 is installed on here).
"""
import hashlib
import sys
from pathlib import Path

from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename
from packaging.version import Version

wheels = Path(sys.argv[2])
files = {}
for f in wheels.iterdir():
    name, version = (parse_wheel_filename(f.name)[:2] if f.suffix == ".whl" else parse_sdist_filename(f.name))
    files.setdefault((canonicalize_name(name), version), []).append(f)
out = []
for line in Path(sys.argv[1]).read_text().splitlines():
    if line.strip().startswith("--hash="):
        continue  # an old hash line: replaced below
    if "==" not in line or line.startswith("#"):
        out.append(line)
        continue
    req = line.split(" ")[0]
    name, version = req.split("==")
    found = files.get((canonicalize_name(name), Version(version)))
    if not found:
        sys.exit(f"no file for {req}")
    hashes = sorted(hashlib.sha256(f.read_bytes()).hexdigest() for f in found)
    out.append(req + " \\\n" + " \\\n".join(f"    --hash=sha256:{h}" for h in hashes))
Path(sys.argv[1]).write_text("\n".join(out) + "\n")
