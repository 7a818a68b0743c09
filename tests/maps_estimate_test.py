#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# vmlab maps-estimate from the command line: a recorded layout with every
# case (its figures exact), --host on this machine, and the usage errors;
# claim 4.4's side column (vmlab claims --host) and its embedded data.
import json
import os
import subprocess
import sys
import tempfile

vmlab, layout = sys.argv[1], sys.argv[2]


def run(*args):
    return subprocess.run([vmlab, "maps-estimate", *args], text=True,
                          capture_output=True, timeout=60)


r = run("--json", layout)
assert r.returncode == 0, r.stderr
d = json.loads(r.stdout)
want = {"processes": 1, "vmas": 11, "guards": 2, "merges": 1,
        "file_gaps": 1, "segment_gaps": 0, "bad_lines": 1, "max_guard": 65536}
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


def claims(*args):
    r = subprocess.run([vmlab, "claims", "4.4", "--json", *args], text=True,
                       capture_output=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    (row,) = json.loads(r.stdout)["claims"]
    return row


row = claims()
assert row["verdict"] == "contradicted" and "host" not in row, row
assert "VMAs saved %" in row["measured"], row
row = claims("--host")
assert row["verdict"] == "contradicted", row
assert "processes" in row["host"] and "--host" in row["host"], row

# The embedded data: listed, read, and an unknown name is an error.
with tempfile.TemporaryDirectory() as d:
    ok, bad = os.path.join(d, "ok.lua"), os.path.join(d, "bad.lua")
    with open(ok, "w") as f:
        f.write('local n = vmlab.claim_data()\n'
                'assert(#n >= 1 and vmlab.claim_data(n[1]):match("%-%-%-p"))\n')
    with open(bad, "w") as f:
        f.write('vmlab.claim_data("no-such.maps")\n')
    r = subprocess.run([vmlab, "run", ok], text=True, capture_output=True,
                       timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    r = subprocess.run([vmlab, "run", bad], text=True, capture_output=True,
                       timeout=60)
    assert r.returncode != 0 and "no claim data called" in r.stdout + r.stderr, r
print("maps-estimate: layout, --host, usage errors, claims --host and "
      "claim data as expected")
