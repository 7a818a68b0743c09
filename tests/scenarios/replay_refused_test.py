#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""vmlab replay-trace on traces it must refuse (the inputs fuzz_replay
once crashed on, kept in fuzz/corpus/fuzz_replay): exit status 3 and one
message naming the file and the line, never a signal or a sanitizer
report.  Usage: replay_refused_test.py VMLAB FILE..."""
import re
import subprocess
import sys


def main():
    vmlab, files = sys.argv[1], sys.argv[2:]
    if not files:
        sys.exit("no files")
    for f in files:
        for extra in ([], ["--json"]):
            p = subprocess.run([vmlab, "replay-trace", f, *extra],
                               capture_output=True, timeout=120)
            err = p.stderr.decode("utf-8", "replace")
            if p.returncode != 3:
                sys.exit(f"{f} {extra}: exit {p.returncode}, expected 3\n{err}")
            if p.stdout:
                sys.exit(f"{f} {extra}: output on a refused trace")
            want = "vmlab replay-trace: " + re.escape(f) + r":[1-9][0-9]*: \S"
            if not re.fullmatch(want + r".*\n", err, re.S) or err.count("\n") != 1:
                sys.exit(f"{f} {extra}: not one 'FILE:LINE: reason' line:\n{err}")
    print(f"{len(files)} refused traces: exit 3, file:line named")


main()
