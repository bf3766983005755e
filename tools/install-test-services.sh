#!/usr/bin/env bash
# Installs the servers and programs the tests start and stop by themselves: PostgreSQL
# (Debian's `postgresql` package; the tests run their own throwaway cluster, not the system
# one), an S3-compatible object store (`moto_server`, PyPI's moto[server]), and headless
# Chromium with its WebDriver (Debian's `chromium`, `chromium-driver`) for the studio's
# browser tests. Does nothing for what is already installed.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo
debian=()
if ! command -v initdb >/dev/null && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    debian+=(postgresql)
fi
# The studio's browser tests: headless Chromium driven through WebDriver.
command -v chromium >/dev/null || debian+=(chromium)
command -v chromedriver >/dev/null || debian+=(chromium-driver)
if [ ${#debian[@]} -gt 0 ]; then
    echo "== installing ${debian[*]} (Debian)"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${debian[@]}" >/dev/null
fi

if ! command -v moto_server >/dev/null && ! python3 -c "import moto.server" 2>/dev/null; then
    echo "== installing the S3-compatible server (PyPI: moto[server])"
    python3 -m pip install --quiet -r tools/requirements-services.txt 2>/dev/null \
        || python3 -m pip install --quiet --user --break-system-packages -r tools/requirements-services.txt
fi
