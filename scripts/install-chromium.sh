#!/usr/bin/env bash
# Installs Debian's Chromium (used by the real-browser tests) when it is missing.
# Playwright drives it through executable_path=/usr/bin/chromium; no browser is downloaded.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-chromium: apt-get not found; install Chromium at /usr/bin/chromium by hand" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "install-chromium: need root (or sudo) to install chromium" >&2
    exit 1
  fi
fi
echo "Installing Debian's chromium and chromium-driver ..."
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver fonts-dejavu-core >/dev/null
/usr/bin/chromium --version
