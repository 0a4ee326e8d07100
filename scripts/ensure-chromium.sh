#!/usr/bin/env bash
# Browser tests drive Debian's Chromium. Install it when we can (root with
# apt-get); otherwise say plainly that the browser tests will be skipped.
if [ -x /usr/bin/chromium ]; then
    exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    echo "Installing Debian's chromium for the browser tests…"
    if apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; then
        exit 0
    fi
fi
echo "NOTE: /usr/bin/chromium is not installed and could not be installed here;"
echo "      the browser tests will be skipped. Install it with: apt-get install chromium"
