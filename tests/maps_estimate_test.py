#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# vmlab maps-estimate from the command line: a recorded layout with every
# case (its figures exact), --host on this machine, and the usage errors.
import json
import subprocess
import sys

vmlab, layout = sys.argv[1], sys.argv[2]


def run(*args):
    return subprocess.run([vmlab, "maps-estimate", *args], text=True,
                          capture_output=True, timeout=60)


r = run("--json", layout)
assert r.returncode == 0, r.stderr
d = json.loads(r.stdout)
want = {"processes": 1, "vmas": 11, "guards": 2, "merges": 1,
        "file_gaps": 1, "bad_lines": 1, "max_guard": 65536}
assert all(d[k] == v for k, v in want.items()), d
assert abs(d["saving_pct"] - 100 * 2 / 11) < 1e-3, d
r = run("--max-guard", str(1 << 30), "--json", layout, layout)
d = json.loads(r.stdout)
assert d["processes"] == 2 and d["guards"] == 6, d
r = run(layout)
assert "VMAs with guard markers: 9 (18.2 % fewer)" in r.stdout, r.stdout
r = run("--host", "--json")
assert r.returncode == 0, r.stderr
d = json.loads(r.stdout)
assert d["processes"] >= 1 and d["vmas"] > d["guards"] >= 0, d
for bad in (["/nonexistent/maps"], [], ["--max-guard", "0", layout],
            ["--frob", layout]):
    r = run(*bad)
    assert r.returncode == 2 and r.stderr, (bad, r.returncode, r.stderr)
print("maps-estimate: layout, --host and usage errors as expected")
