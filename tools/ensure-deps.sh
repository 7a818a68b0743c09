#!/bin/sh
# Install the Debian packages named on the command line that are missing.
# As root this runs apt-get, waiting for (and retrying past) a package
# lock another process holds; otherwise it says the exact command to run
# and fails.  Not on Debian: see README.md, "Without Debian".
set -eu
missing=""
for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-deps: no apt-get here; install the equivalents of:$missing" >&2
    echo "ensure-deps: then build with: meson setup build && ninja -C build" >&2
    exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "ensure-deps: missing Debian packages:$missing" >&2
    echo "ensure-deps: run: sudo apt-get install -y$missing" >&2
    exit 1
fi
# apt waits up to LOCK_WAIT seconds for the dpkg lock itself; a lock
# taken between our calls (unattended-upgrades, another make) is retried.
LOCK_WAIT=${ENSURE_DEPS_LOCK_WAIT:-300}
try() {
    n=0
    while :; do
        if "$@"; then return 0; fi
        n=$((n + 1))
        if [ "$n" -ge 5 ]; then
            echo "ensure-deps: '$*' failed $n times; is another package manager running?" >&2
            echo "ensure-deps: run it by hand: sudo apt-get install -y$missing" >&2
            return 1
        fi
        echo "ensure-deps: apt-get failed (package lock held?), retrying in 10 s" >&2
        sleep 10
    done
}
echo "ensure-deps: installing$missing"
try apt-get -o DPkg::Lock::Timeout="$LOCK_WAIT" update -qq
try env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout="$LOCK_WAIT" \
    install -y -qq --no-install-recommends $missing
