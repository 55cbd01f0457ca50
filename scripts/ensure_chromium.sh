#!/usr/bin/env bash
# Headless Chromium for the browser tests (tests/test_html_browser.py, tests/test_notebook.py):
# installed from the system's package manager when it is missing, so that no CI run skips them.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "headless Chromium is missing and there is no apt-get here: install the 'chromium' package" >&2
    exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get install -y --no-install-recommends chromium >/dev/null \
    || { $sudo apt-get update >/dev/null && $sudo apt-get install -y --no-install-recommends chromium >/dev/null; }
command -v chromium >/dev/null
