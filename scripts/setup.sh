# Shared by scripts/run and scripts/test: install what is missing, idempotently.
# Sourced, not run; expects to be in the repository root.

PYTHON=${PYTHON:-python3}
VENV=.venv

say() { printf 'parley setup: %s\n' "$*" >&2; }

# Install Debian packages that are missing. Needs root, because it calls apt-get.
apt_install() {
    local missing=()
    for package in "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" \
            || missing+=("$package")
    done
    [ ${#missing[@]} -eq 0 ] && return 0

    if [ "$(id -u)" -ne 0 ]; then
        say "missing Debian packages: ${missing[*]}"
        say "run this script as root, or install them with: sudo apt-get install ${missing[*]}"
        exit 1
    fi
    say "installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

check_python() {
    if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        say "Parley needs Python 3.11 or newer as '$PYTHON'; set PYTHON=/path/to/python3.11"
        exit 1
    fi
}

# Create the virtual environment and install Parley into it with the given extras
# ("" or "[test]"), again only when pyproject.toml changed since. An install with the
# test extras also satisfies a plain one, so scripts/run and scripts/test can be
# run in turns without reinstalling.
install_parley() {
    local extras=$1
    local hash
    hash=$(sha256sum pyproject.toml | cut -d' ' -f1)

    if [ ! -x "$VENV/bin/python" ]; then
        if ! "$PYTHON" -m venv "$VENV" 2>/dev/null; then
            rm -rf "$VENV"
            apt_install python3-venv
            "$PYTHON" -m venv "$VENV"
        fi
    fi
    if grep -qxF "$hash $extras" "$VENV/.parley-installed" 2>/dev/null \
        || { [ -z "$extras" ] && grep -qxF "$hash [test]" "$VENV/.parley-installed" 2>/dev/null; }; then
        return 0
    fi

    say "installing Python dependencies into $VENV"
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q -e ".$extras"
    echo "$hash $extras" > "$VENV/.parley-installed"
}
