#!/usr/bin/env bash
# `make lock`: write requirements.lock (the server image) and requirements-dev.lock (`make
# install`) with a sha256 for every file of every pinned version, from constraints.txt.
# Re-run it whenever constraints.txt or a dependency list in pyproject.toml changes; the
# versions never move (constraints.txt decides them), only hashes are added.
set -euo pipefail
cd "$(dirname "$0")/../.."
# (Not PIP_COMPILE: pip reads every PIP_* variable as one of its options.)
COMPILER=${LOCK_COMPILER:-.venv/bin/pip-compile}
common=(--quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url
        --no-emit-find-links --no-emit-trusted-host --annotation-style line --no-header
        --rebuild -c constraints.txt)
"$COMPILER" "${common[@]}" --extra ops -o requirements.lock \
  pyproject.toml infra/lock/build.in
"$COMPILER" "${common[@]}" --extra dev --extra bench --extra cli --extra mcp \
  -o requirements-dev.lock pyproject.toml client/pyproject.toml infra/lock/build.in
# Quarry's own packages install from the working tree (`--no-deps`), never from a lock: drop
# the unhashable `quarry @ file://…` line that dev's `quarry[local,ops]` makes pip-compile emit.
# pip itself (pip-tools depends on it) stays the venv's own: the installer is not reinstalled
# by the install it is running.
python3 - requirements.lock requirements-dev.lock <<'PY'
import re
import sys

for path in sys.argv[1:]:
    with open(path) as handle:
        text = handle.read()
    text = re.sub(r"# WARNING: pip install will require the following package to be hashed\.\n"
                  r"# Consider using a hashable URL[^\n]*\n", "", text)
    text = re.sub(r"^(quarry|quarry-client)( @ file:|==)[^\n]*\n", "", text, flags=re.M)
    text = re.sub(r"^pip==[^\n]*\n(?:    [^\n]*\n)*", "", text, flags=re.M)
    with open(path, "w") as handle:
        handle.write(text)
PY
