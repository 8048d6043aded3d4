#!/usr/bin/env bash
# Create (or reuse) the project's virtual environment and install distillnb with its dev extras.
#
# Variables (all optional):
#   DISTILLNB_VENV       where the environment lives                       (default: .venv)
#   DISTILLNB_PYTHON     the interpreter that creates it, 3.10 or newer    (default: python3)
#   DISTILLNB_INSTALLER  uv (fast; installed into the venv) or pip         (default: uv)
#   DISTILLNB_TORCH      how torch is chosen                               (default: auto)
#                          auto  a local CPU wheel when pip's find-links hold one, else PyPI's default build
#                          pypi  PyPI's default build (on Linux x86_64 that is a CUDA build of several GB)
#                          any other value is passed to the installer as is: a wheel path or a requirement
# The install is skipped when nothing it depends on changed since the last one (a stamp in the venv).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${DISTILLNB_VENV:-.venv}
PYTHON=${DISTILLNB_PYTHON:-python3}
INSTALLER=${DISTILLNB_INSTALLER:-uv}
TORCH=${DISTILLNB_TORCH:-auto}

say() { printf '[env] %s\n' "$*"; }
die() { printf '[env] error: %s\n' "$*" >&2; exit 1; }

case "$INSTALLER" in uv|pip) ;; *) die "DISTILLNB_INSTALLER must be uv or pip, not '$INSTALLER'";; esac

if [ ! -x "$VENV/bin/python" ]; then
  command -v "$PYTHON" >/dev/null || die "no '$PYTHON' on PATH; install Python 3.10+ or set DISTILLNB_PYTHON"
  "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
    || die "$("$PYTHON" -V 2>&1) is too old: distillnb needs Python 3.10+ (set DISTILLNB_PYTHON)"
  say "creating $VENV with $("$PYTHON" -V 2>&1)"
  "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"

# A CPU build of torch that is already on this machine, in a folder pip is told to look in.
local_cpu_torch() {
  local tag dirs d
  tag=$("$PY" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
  dirs="${PIP_FIND_LINKS:-} $("$PY" -m pip config get global.find-links 2>/dev/null || true)"
  for d in $dirs; do
    d=${d#file://}
    [ -d "$d" ] || continue
    ls -1 "$d"/torch-*+cpu-"$tag"-"$tag"-*linux*_"$(uname -m)".whl 2>/dev/null | sort -V | tail -n 1
  done | tail -n 1
}

case "$TORCH" in
  auto)
    TORCH_SPEC=$(local_cpu_torch)
    if [ -n "$TORCH_SPEC" ]; then say "torch: local CPU wheel $TORCH_SPEC (DISTILLNB_TORCH=pypi for PyPI's default build)"
    else TORCH_SPEC=""; say "torch: PyPI's default build (no local CPU wheel found; see DISTILLNB_TORCH)"; fi ;;
  pypi) TORCH_SPEC=""; say "torch: PyPI's default build" ;;
  *) TORCH_SPEC=$TORCH; say "torch: $TORCH_SPEC (from DISTILLNB_TORCH)" ;;
esac

stamp="$VENV/.distillnb-install"
want=$(cat settings.ini setup.py tools/env.sh | sha256sum | cut -c1-16)-$INSTALLER-$TORCH_SPEC
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && "$PY" -c 'import distillnb, nbdev' 2>/dev/null; then
  say "$VENV is up to date"
  exit 0
fi

start=$(date +%s)
if [ "$INSTALLER" = uv ]; then
  # (the filter drops warnings about index folders that this machine's pip.conf names but lacks)
  [ -x "$VENV/bin/uv" ] || "$PY" -m pip install --quiet --disable-pip-version-check uv 2> >(grep -v "is ignored: it is neither" >&2)
  # uv reads no pip.conf; it uses PyPI, plus the wheel path above when there is one.
  "$VENV/bin/uv" pip install --quiet --python "$PY" -e '.[dev]' $TORCH_SPEC
else
  "$PY" -m pip install --quiet --disable-pip-version-check -e '.[dev]' $TORCH_SPEC
fi
# Compile the bytecode once: where PYTHONDONTWRITEBYTECODE is set nothing else caches it, and every
# test process would recompile torch and transformers (~25 s each).
"$PY" -m compileall -q -j 0 "$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" >/dev/null 2>&1 || true
"$PY" -c 'import distillnb, nbdev' || die "the install finished but 'import distillnb' fails"
echo "$want" > "$stamp"
say "installed distillnb into $VENV with $INSTALLER in $(( $(date +%s) - start ))s"
