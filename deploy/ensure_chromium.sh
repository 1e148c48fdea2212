#!/usr/bin/env bash
# Installs Debian's Chromium for the dashboard's browser test when it is missing.
# Tests drive it with Playwright (executable_path=/usr/bin/chromium); Playwright's own browser
# download is never used.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "chromium is missing and this is not root: install the Debian package chromium" >&2
  exit 1
fi
echo "installing Debian's chromium for the dashboard test (once)" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
