# Shared by bin/demo and bin/test: find Python 3.11+, create .venv, install the
# project with the extra asked for. It reinstalls only when pyproject.toml changes.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"

find_python() {
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      command -v "$candidate"; return 0
    fi
  done
  echo "TorchReady needs Python 3.11 or newer on PATH (python3.11, python3.12 or python3)." >&2
  return 1
}

# pip, without the warnings this machine's pip.conf prints for absent local indexes;
# pipefail keeps pip's own exit status.
quiet_pip() {
  "$@" 2>&1 | { grep -v "^WARNING: Location" || true; }
}

ensure_venv() {  # $1: the extra to install, e.g. dev
  local extra="$1" stamp want lock="requirements/$1.txt"
  if [ ! -x "$PY" ]; then
    echo "==> Creating $VENV"
    "$(find_python)" -m venv "$VENV"
    quiet_pip "$PY" -m pip install -q --upgrade pip
  fi
  stamp="$VENV/.torchready-$extra"
  want="$(cat pyproject.toml "$lock" | sha256sum | cut -c1-16)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    # pyproject.toml says what is needed; the lock (bin/lock) pins each version.
    echo "==> Installing torchready[$extra] into $VENV, pinned by $lock"
    quiet_pip "$PY" -m pip install -q -c "$lock" -e ".[$extra]"
    echo "$want" > "$stamp"
  fi
}
