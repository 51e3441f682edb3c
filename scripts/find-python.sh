#!/usr/bin/env bash
# Print a Python 3.10 interpreter that really runs (a pyenv shim may exist
# without the version being selected), or nothing.
for c in python3.10 "$HOME"/.pyenv/versions/3.10*/bin/python3.10 /usr/bin/python3.10 /usr/local/bin/python3.10; do
  p=$(command -v "$c" 2>/dev/null) || continue
  if "$p" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null; then
    echo "$p"; exit 0
  fi
done
