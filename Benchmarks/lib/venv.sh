# Sourced by benchmark scripts: makes Benchmarks/.venv with the Python peers when absent.
#   ensure_venv torch numpy          # packages to have importable
ensure_venv() {
    local venv
    venv="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.venv"
    if [ ! -x "$venv/bin/python" ]; then
        echo "bench: creating $venv (first run downloads PyTorch, a few GB)" >&2
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet --upgrade pip
    fi
    local missing=()
    for pkg in "$@"; do
        "$venv/bin/python" -c "import ${pkg%%[=<>]*}" 2>/dev/null || missing+=("$pkg")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "bench: pip install ${missing[*]}" >&2
        "$venv/bin/pip" install --quiet "${missing[@]}"
    fi
    PYTHON="$venv/bin/python"
}
