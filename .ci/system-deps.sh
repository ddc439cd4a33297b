#!/usr/bin/env bash
# System packages the test suite needs beyond Python (Debian/Ubuntu):
#   gnome-keyring + dbus (dbus-run-session) + dbus-x11 + libsecret-tools (secret-tool)
#   give tests/e2e/test_keyring_e2e.py a real, throwaway Secret Service. Under CI=true that
#   test FAILS instead of skipping when they are missing.
# Idempotent: does nothing when everything is already installed. Needs root (or sudo).
set -euo pipefail

packages=(gnome-keyring dbus dbus-x11 libsecret-tools)

missing=()
for pkg in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done

if [ "${#missing[@]}" -eq 0 ]; then
    echo "system-deps: already installed: ${packages[*]}"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

echo "system-deps: installing ${missing[*]}"
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}"

for tool in gnome-keyring-daemon dbus-run-session secret-tool; do
    command -v "$tool" >/dev/null || { echo "system-deps: $tool still missing" >&2; exit 1; }
done
