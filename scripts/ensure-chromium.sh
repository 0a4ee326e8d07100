#!/usr/bin/env bash
# Browser tests drive Debian's Chromium through Playwright. Install it when we can (root with apt-get;
# apt brings the libraries Chromium needs, so Playwright's own browser download is not used). Outside CI,
# say plainly that the browser tests will be skipped; in CI (CI=true) fail instead: a run with every
# browser test skipped proves nothing about the pages.
chromium=/usr/bin/chromium

usable() {
    [ -x "$chromium" ] && "$chromium" --headless --no-sandbox --disable-gpu --version >/dev/null 2>&1
}

if ! usable && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    echo "Installing Debian's chromium for the browser tests…"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
if usable; then
    exit 0
fi
if [ "${CI:-}" = "true" ]; then
    echo "ERROR: $chromium is not installed and could not be installed here; CI must run the browser tests." >&2
    echo "       Install it with: apt-get install chromium" >&2
    exit 1
fi
echo "NOTE: $chromium is not installed and could not be installed here;"
echo "      the browser tests will be skipped. Install it with: apt-get install chromium"
