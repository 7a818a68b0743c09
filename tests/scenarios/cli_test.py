#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The vmlab command, end to end: golden outputs, traces, explore/replay,
bad input.  Usage: cli_test.py TEST VMLAB GOLDEN_DIR

Golden files are the expected stdout, byte for byte (figures, never
timings).  After an intended change of behaviour, accept the new output
with VMLAB_UPDATE_GOLDEN=1 meson test -C build cli-golden-tour ...
"""
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile


# meson's own timeout (300 s, x4 in the ASan build) is the bound; the tour
# alone takes minutes under ASan on a loaded 2-core machine.
def run(vmlab, *args, code=None, cwd=None):
    p = subprocess.run([vmlab, *args], capture_output=True, text=True,
                       timeout=1100, cwd=cwd)
    if code is not None and p.returncode != code:
        sys.exit(f"vmlab {' '.join(args)}: exit {p.returncode}, expected "
                 f"{code}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}")
    return p


def golden(vmlab, gdir, name, *args, code=0, cwd=None):
    out = run(vmlab, *args, code=code, cwd=cwd).stdout
    path = os.path.join(gdir, name)
    if os.environ.get("VMLAB_UPDATE_GOLDEN"):
        with open(path, "w") as f:
            f.write(out)
        print(f"updated {path}")
        return out
    with open(path) as f:
        want = f.read()
    if out != want:
        import difflib
        diff = "".join(difflib.unified_diff(
            want.splitlines(True), out.splitlines(True), "golden", "now"))
        sys.exit(f"{name}: output differs from the golden file (accept an "
                 f"intended change with VMLAB_UPDATE_GOLDEN=1):\n{diff}")
    return out


def t_golden_tour(vmlab, gdir):
    # The tour replays ../shared/traces when it exists next to the working
    # directory, its own excerpts otherwise: run it where nothing is next
    # to it, so the golden output does not depend on where the tree lives.
    cwd = tempfile.mkdtemp(prefix="vmlab-tour-")
    vmlab = os.path.abspath(vmlab)
    out = golden(vmlab, gdir, "tour.golden", "tour", cwd=cwd)
    assert "3 of 3 scenarios as expected" in out or "scenarios as expected" in out
    # guard-stacks gives the counts Linux 6.18 gives for 20,000 stacks
    assert re.search(r"^  VMAs added +39999 +0$", out, re.M), out
    # no arguments is the tour
    assert run(vmlab, code=0, cwd=cwd).stdout == out
    os.rmdir(cwd)


def t_golden_json(vmlab, gdir):
    out = golden(vmlab, gdir, "stale-tlb.json.golden", "run", "stale-tlb",
                 "--json")
    d = json.loads(out)
    assert d["scenario"] == "stale-tlb" and d["status"] == 0
    assert d["columns"] == ["no flush", "with flush"], d["columns"]
    assert d["figures"]["with flush"]["IPIs"] == 3
    assert {r["check"] for r in d["reports"]} == {"stale-access",
                                                  "freed-frame-reachable"}
    assert all(r["expected"] for r in d["reports"])
    # a failing run is one JSON document too
    d = json.loads(run(vmlab, "run", "race", "--seed", "5", "--policy", "pct",
                       "--json", code=1).stdout)
    assert d["status"] == 1 and d["reports"] and d["error"]


def t_trace(vmlab, gdir):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "t.json")
        run(vmlab, "run", "stale-tlb", "--trace", path, code=0)
        with open(path) as f:
            d = json.load(f)
        ev = d["traceEvents"]
        names = {(e["pid"], e["tid"]): e["args"]["name"] for e in ev
                 if e["ph"] == "M" and e["name"] == "thread_name"}
        for pid in (1, 2):
            for cpu in range(4):
                assert names[(pid, cpu)] == f"CPU {cpu}", names
            assert names[(pid, 4)] == "kworker"
        procs = [e["args"]["name"] for e in ev if e["name"] == "process_name"]
        assert procs == ["machine 1: no flush", "machine 2: with flush"], procs
        spans = {e["name"] for e in ev if e["ph"] == "X"}
        assert {"map", "unmap", "read", "write", "alloc_pages",
                "free_pages", "IPI from CPU 0"} <= spans, spans
        inst = {e["name"] for e in ev if e["ph"] == "i"}
        assert {"invlpg", "page fault", "checker: stale-access",
                "checker: freed-frame-reachable"} <= inst, inst
        counters = {e["name"] for e in ev if e["ph"] == "C"}
        assert {"TLB occupancy", "direct-map splits",
                "vmalloc lazy pages"} <= counters, counters
        for e in ev:
            if e["ph"] != "M":
                assert isinstance(e["ts"], (int, float)) and e["ts"] >= 0
            if e["ph"] == "X":
                assert e["dur"] > 0
        # operations carry their arguments: map(VA, pfn, 1)
        m = next(e for e in ev if e["ph"] == "X" and e["name"] == "map")
        assert m["args"]["arg1"].startswith("0xffff"), m
        assert isinstance(m["args"]["arg2"], int) and m["args"]["arg3"] == 1
        # checker reports: a hex va and a numeric pfn
        r = next(e for e in ev if e["name"] == "checker: stale-access")
        assert re.fullmatch(r"0x[0-9a-f]+", r["args"]["va"]), r
        assert isinstance(r["args"]["pfn"], int), r
        # every IPI is a flow from its sender to its receiver
        starts = {e["id"]: e for e in ev if e["ph"] == "s"}
        ends = {e["id"]: e for e in ev if e["ph"] == "f"}
        assert starts and starts.keys() == ends.keys()
        for i, s0 in starts.items():
            assert s0["tid"] != ends[i]["tid"] and ends[i]["ts"] >= s0["ts"]
        # per track, spans nest (Perfetto draws them as a stack)
        by_track = {}
        for e in sorted((e for e in ev if e["ph"] == "X"),
                        key=lambda e: (e["ts"], -e["dur"])):
            stack = by_track.setdefault((e["pid"], e["tid"]), [])
            while stack and stack[-1] <= e["ts"]:
                stack.pop()
            end = e["ts"] + e["dur"]
            assert not stack or end <= stack[-1] + 1e-9, e
            stack.append(end)
        # page faults of 20,000 stacks are sampled: the trace stays small
        big = os.path.join(tmp, "g.json")
        run(vmlab, "run", "guard-stacks", "--trace", big, code=0)
        assert os.path.getsize(big) < 10 * 1024 * 1024
        with open(big) as f:
            g = json.load(f)["traceEvents"]
        assert any(e["ph"] == "C" and e["name"].endswith("(sampled)")
                   for e in g)
        # a concurrent run shows context switches and the kworker track
        run(vmlab, "replay", "race", "--seed", "5", "--policy", "pct",
            "--trace", path, code=1)
        with open(path) as f:
            d = json.load(f)
        assert any(e["name"] == "scheduled" for e in d["traceEvents"])


# Lines of a real 6.18 trace (tracefs `trace`, the events the model has).
REAL_FTRACE = """\
         bpfload-9645    [000] .....   183.191573: alloc_vmap_area: va_start: 18446683600571027456 size=8192 align=1 vstart=0xffffc90000000000 vend=0xffffe8ffffffffff failed=0
     kworker/1:1-41      [001] .....   183.242278: free_vmap_area_noflush: va_start=0xffffc900059d0000 nr_lazy=11878 nr_lazy_max=16384
            bash-9592    [000] ...1.   183.181273: tlb_flush: pages:-1 reason:remote IPI send (4)
"""
FTRACE_LINE = re.compile(
    r"^ *(\S+)-(\d+) +\[(\d{3})\] [.dDhHsSnNbBpP0-9]{5} +(\d+)\.(\d{6}): "
    r"(alloc_vmap_area: va_start: \d+ size=\d+ align=\d+ vstart=0x[0-9a-f]+ "
    r"vend=0x[0-9a-f]+ failed=[01]"
    r"|free_vmap_area_noflush: va_start=0x[0-9a-f]+ nr_lazy=\d+ nr_lazy_max=\d+"
    r"|purge_vmap_area_lazy: start=0x[0-9a-f]+ end=0x[0-9a-f]+ num_purged=\d+"
    r"|tlb_flush: pages:-?\d+ reason:(flush on task switch \(0\)|remote "
    r"shootdown \(1\)|local shootdown \(2\)|local MM shootdown \(3\)|"
    r"remote IPI send \(4\)|remote wrong CPU \(5\)))$")


def t_ftrace(vmlab, gdir):
    for line in REAL_FTRACE.splitlines():
        assert FTRACE_LINE.match(line), line
    with tempfile.TemporaryDirectory() as tmp:
        scen = os.path.join(tmp, "lazy.lua")
        with open(scen, "w") as f:
            f.write("""
local m = vmlab.machine{cpus = 2}
local c = m:cpu(0)
for i = 1, 40 do c:vfree(c:vmalloc(8192)) end
c:purge_vmap_area_lazy()
local mm = m:user_mm()
local a = mm:mmap{len = 8 * 4096, prot = "rw", flags = {"private", "anonymous"}}
m:run{[0] = function(c0) c0:user_write(mm, a, "x") end,
      [1] = function(c1) c1:user_write(mm, a + 4096, "y") end}
m:run{[0] = function(c0) assert(mm:mprotect(a, 2 * 4096, "r")) end}
""")
        path = os.path.join(tmp, "trace.txt")
        run(vmlab, "run", scen, "--ftrace", path, code=0)
        with open(path) as f:
            text = f.read()
        head = [l for l in text.splitlines() if l.startswith("#")]
        body = [l for l in text.splitlines() if not l.startswith("#")]
        assert head[0] == "# tracer: nop", head
        m = re.search(r"entries-in-buffer/entries-written: (\d+)/(\d+) +#P:2",
                      text)
        assert m and int(m.group(1)) == len(body), (m, len(body))
        for l in body:
            assert FTRACE_LINE.match(l), l
        ev = [re.search(r"\d: (\w+): (.*)$", l).groups() for l in body]
        names = [e[0] for e in ev]
        assert names.count("alloc_vmap_area") == 40, names
        assert names.count("free_vmap_area_noflush") == 40
        purge = [e[1] for e in ev if e[0] == "purge_vmap_area_lazy"]
        assert purge and purge[-1].endswith("num_purged=40"), purge
        reasons = {re.search(r"reason:(.*) \(", e[1]).group(1)
                   for e in ev if e[0] == "tlb_flush"}
        assert {"flush on task switch", "remote IPI send",
                "remote shootdown"} <= reasons, reasons
        # timestamps only grow, per machine
        ts = [float(FTRACE_LINE.match(l).group(4) + "." +
                    FTRACE_LINE.match(l).group(5)) for l in body]
        assert ts == sorted(ts), ts
        # every tlb_flush reason of Linux, where the model does that thing
        # (arch/x86/mm/tlb.c): (cpu, pages, reason) in order
        scen = os.path.join(tmp, "reasons.lua")
        with open(scen, "w") as f:
            f.write("""
local m = vmlab.machine{cpus = 3, memory = "256M"}
local P = vmlab.PAGE_SIZE
local mm = assert(m:user_mm())
local a = assert(mm:mmap{len = 8 * P, prot = "rw", flags = {"private", "anonymous"}})
local c0, c1 = m:cpu(0), m:cpu(1)
for i = 0, 7 do assert(c0:user_write(mm, a + i * P, "x")) end
assert(c1:user_read(mm, a, 1))
vmlab.result{mark = 1}
assert(mm:mprotect(a, P, "r"))
assert(mm:madvise(a + P, P, "pageout"))
local other = assert(m:user_mm())
local b = assert(other:mmap{len = P, prot = "rw", flags = {"private", "anonymous"}})
assert(c1:user_write(other, b, "y"))
assert(mm:munmap(a, 8 * P))
""")
        run(vmlab, "run", scen, "--ftrace", path, code=0)
        with open(path) as f:
            fl = [re.search(r"\[(\d+)\].*tlb_flush: pages:(-?\d+) "
                            r"reason:(.*) \((\d)\)$", l)
                  for l in f if "tlb_flush:" in l]
        fl = [(int(x.group(1)), int(x.group(2)), x.group(3), int(x.group(4)))
              for x in fl]
        names = ["flush on task switch", "remote shootdown", "local shootdown",
                 "local MM shootdown", "remote IPI send", "remote wrong CPU"]
        assert all(names[r] == n for _, _, n, r in fl), fl
        assert {r for *_, r in fl} == set(range(6)), fl
        seq = [(c, p, r) for c, p, _, r in fl if r != 0]
        # mprotect of one page, CPU 1 running mm too: local + IPI + remote
        assert seq[:3] == [(0, 1, 3), (0, 1, 4), (1, 1, 1)], seq
        # MADV_PAGEOUT with CPU 1 in the mask: reclaim's batched flush,
        # one full flush per CPU, no mm (local shootdown)
        assert seq[3:6] == [(0, -1, 4), (0, -1, 2), (1, -1, 1)], seq
        # CPU 1 left mm for another (its bit stays, 6.14+); munmap frees
        # the page tables, so the flush goes to CPU 1 too: wrong CPU
        assert (0, -1, 4) in seq[6:] and (1, 0, 5) in seq[6:], seq
        i = seq.index((1, 0, 5))
        # the bit is gone after: the next freed-tables flush of mm (the
        # teardown) does not reach CPU 1 for mm again
        assert (1, 0, 5) not in seq[i + 1:], seq


PTDUMP_LINE = re.compile(
    r"^0x[0-9a-f]{16}-0x[0-9a-f]{16}   [ \d]{8}\d[BKMGTPE] "
    r"((USR |    )(RW |ro )(PWT |    )(PCD |    )(PSE |    )(PAT |    )"
    r"(GLB |    )(NX |x  )| {30})(pte|pmd|pud|pgd)$")


def t_inspect(vmlab, gdir):
    """m:dump_pagetable / m:dump_tlb and --dump-pagetable / --dump-tlb."""
    with tempfile.TemporaryDirectory() as tmp:
        scen = os.path.join(tmp, "pt.lua")
        with open(scen, "w") as f:
            f.write("""
local m = vmlab.machine{cpus = 2, memory = "256M"}
local a = m:vmalloc(3 * 4096)
m:set_memory_ro(vmlab.page_address(0x1000), 1)
m:cpu(1):read64(a)
print(m:dump_pagetable())
print(m:dump_pagetable(a, a + 0x200000))
print(m:dump_tlb(1))
""")
        out = run(vmlab, "run", scen, code=0).stdout
        lines = out.splitlines()
        pt = [l for l in lines if l.startswith("0x")]
        assert pt, out
        for l in pt:
            assert PTDUMP_LINE.match(l), l
        for mk in ("Kernel Space", "Low Kernel Mapping", "vmalloc() Area"):
            assert f"---[ {mk} ]---" in out, mk
        # the set_memory_ro page: one 4K read-only pte in the direct map
        assert re.search(r"^0xffff888001000000-0xffff888001001000 +4K +ro "
                         r" +GLB NX pte$", out, re.M), out
        # the split around it: 4K ptes, then 2M pmds with PSE
        assert re.search(r" RW +PSE +GLB NX pmd$", out, re.M), out
        # the vmalloc area: 3 mapped pages, 12K
        assert re.search(r"^0xffffc90000000000-0xffffc90000003000 +12K +RW ",
                         out, re.M), out
        # CPU 1 cached the vmalloc page it read
        assert re.search(r"CPU 1 TLB: \d+ entr", out), out
        assert re.search(r"dTLB 4K +0xffffc90000000000 4K ", out), out
        # the CLI flags: every machine, every CPU, at its end
        out = run(vmlab, "run", "stale-tlb", "--dump-pagetable",
                  "--dump-tlb", code=0).stdout
        assert out.count("kernel page tables (/sys/kernel/debug/"
                         "page_tables/kernel)") == 2, out
        assert "[no flush] CPU 1 TLB:" in out and "[with flush] CPU 3 TLB:" in out
        assert "(stale: watched)" in out  # the stale entry the bug leaves
        out = run(vmlab, "run", "stale-tlb", "--dump-tlb=1", code=0).stdout
        assert "CPU 1 TLB" in out and "CPU 0 TLB" not in out


def t_explore_replay(vmlab, gdir):
    p = run(vmlab, "explore", "race", "--seeds", "50", code=1)
    m = re.search(r"^replay: (vmlab replay .*)$", p.stdout, re.M)
    assert m, p.stdout
    assert "seed " in p.stdout and "fails" in p.stdout
    report = p.stdout.split("==================================================================")[1]
    args = m.group(1).split()[1:]
    q = run(vmlab, *args, code=1)
    assert report in q.stdout, "replay does not reproduce the report"
    # the same with random scheduling needs more seeds, and finds it too
    p = run(vmlab, "explore", "race", "--seeds", "300", "--policy", "random",
            code=1)
    assert "--policy random" in p.stdout
    # a correct scenario: no failure, exit 0, no progress bar off a TTY
    p = run(vmlab, "explore", "stale-tlb", "--seeds", "5", code=0)
    assert "no failure in 5 seeds" in p.stdout and "\r" not in p.stdout


def t_kasan(vmlab, gdir):
    """seed-v6's missing shadow flush found by explore, replayed; the
    fixed release clean under both policies; the no-align mutant caught;
    a machine too big for KASAN's shadow refused with the reason."""
    p = run(vmlab, "explore", "kasan-race", "--seeds", "30", code=1)
    assert "freed-frame-reachable" in p.stdout, p.stdout
    m = re.search(r"^replay: (vmlab replay .*)$", p.stdout, re.M)
    assert m, p.stdout
    q = run(vmlab, *m.group(1).split()[1:], code=1)
    assert "freed-frame-reachable" in q.stdout
    for policy in ("pct", "random"):
        p = run(vmlab, "explore", "kasan-race", "-D", "release=fixed",
                "--seeds", "100", "--policy", policy, code=0)
        assert "no failure in 100 seeds" in p.stdout, p.stdout
    # the same on arm64 (its shadow offset, its TLB maintenance)
    p = run(vmlab, "explore", "kasan-race", "-D", "arch=arm64", "--seeds",
            "30", code=1)
    assert "freed-frame-reachable" in p.stdout, p.stdout
    p = run(vmlab, "explore", "kasan-race", "-D", "arch=arm64", "-D",
            "release=fixed", "--seeds", "100", code=0)
    assert "no failure in 100 seeds" in p.stdout, p.stdout
    p = run(vmlab, "explore", "kasan-race", "-D", "release=fixed",
            "--mutant", "kasan-release-no-align", "--seeds", "30", code=1)
    assert "BUG: KASAN: kasan_release_vmalloc frees shadow page" in p.stdout
    p = run(vmlab, "run", "kasan-vmalloc", code=0)
    assert "checker on 'seed-v6':" in p.stdout and \
        "freed-frame-reachable (expected" in p.stdout, p.stdout
    assert "checker on 'fixed': clean" in p.stdout
    with tempfile.TemporaryDirectory() as d:
        f = pathlib.Path(d) / "big.lua"
        f.write_text('vmlab.machine{kasan = true, memory = "128G"}\n')
        p = run(vmlab, "run", str(f), code=1)
        assert "at most 64 GiB" in p.stderr + p.stdout


def t_cli_errors(vmlab, gdir):
    with tempfile.TemporaryDirectory() as tmp:
        def scen(name, text):
            path = os.path.join(tmp, name)
            with open(path, "w") as f:
                f.write(text)
            return path
        cases = [
            (["run", "/no/such/file.lua"], 2, "no scenario"),
            (["run", "no-such-builtin"], 2, "vmlab list"),
            (["run", "stale-tbl"], 2, "did you mean 'stale-tlb'?"),
            (["run", scen("syntax.lua", "local = 1\n")], 2, "syntax.lua:1:"),
            (["run", "race", "-D", "nope=1"], 2, "unknown parameter 'nope'"),
            (["run", "race", "-D", "work0=x"], 2, "not an integer"),
            (["run", "race", "-D", "flush"], 2, "name=value"),
            (["run", scen("types.lua",
                          "local m = vmlab.machine{}\nm:read64('x')\n")],
             1, "types.lua:2: bad argument #1 to 'read64'"),
            (["run", scen("loop.lua", "local n = 0\nwhile true do n = n + 1 end\n"),
              "--max-steps", "100000"], 1, "loop.lua:2: step budget exceeded"),
            (["run", "race", "--bogus"], 2, "unknown option"),
            # resource limits: the host budget per machine and the
            # machines per run come from the command line
            (["run", scen("big.lua",
                          "local m = vmlab.machine{memory = '4T'}\n"
                          "assert(m:vmalloc(1 << 40) == nil)\n"
                          "assert(m:vmalloc(1 << 20))\n"
                          "print('vmalloc 1T: nil')\n")],
             0, "vmalloc 1T: nil"),
            (["run", scen("tight.lua", "vmlab.machine{memory = '4T'}\n"),
              "--max-host-memory", "2M"], 1,
             "tight.lua:1: vmlab.machine: boot failed (ENOMEM)"),
            (["run", scen("raise.lua",
                          "vmlab.machine{host_memory = '2G'}\n"),
              "--max-host-memory", "1G"], 2, "host_memory is 1M.."),
            (["run", scen("many.lua",
                          "for i = 1, 3 do vmlab.machine{memory = '64M'}"
                          ":destroy() end\n"),
              "--max-machines", "2"], 1,
             "many.lua:1: vmlab.machine: a run may create at most 2 "
             "machines"),
            (["run", "race", "--max-machines", "0"], 2, "1..4096"),
            (["run", "race", "--max-host-memory", "1K"], 2, ">= 1M"),
            (["run"], 2, "which scenario"),
            (["run", "race", "--seed", "x"], 2, "needs a number"),
            (["run", "race", "--policy", "fifo"], 2, "pct, random or rr"),
            (["explore", "race"], 2, "--seeds N is required"),
            (["replay", "race"], 2, "--seed N is required"),
            (["frobnicate"], 2, "unknown command"),
            (["help", "frobnicate"], 2, "no such command"),
        ]
        for args, code, msg in cases:
            p = run(vmlab, *args, code=code)
            if msg not in p.stderr + p.stdout:
                sys.exit(f"vmlab {' '.join(args)}: no '{msg}' in:\n"
                         f"{p.stdout}{p.stderr}")
        # outside m:run the kworker runs deferred work as the operation
        # that queued it returns, on that operation's CPU: 400 vfrees of
        # 64 pages pass lazy_max_pages once, so one purge and one flush
        lazy = ("local m = vmlab.machine{KW}\nlocal c = m:cpu(1)\n"
                "for i = 1, 400 do c:vfree(c:vmalloc(64 * 4096)) end\n"
                "local s, w = m:vmalloc_stats(), m:work_stats()\n"
                "print(string.format('purges %d lazy %d pending %d ran %d queued %d',"
                " s.nr_purges, s.lazy_pages, m:pending_work(), w.ran,"
                " w.queued))\n")
        ft = os.path.join(tmp, "lazy.ftrace")
        p = run(vmlab, "run", scen("lazy.lua", lazy.replace("KW", "")), "--ftrace", ft,
                code=0)
        assert "purges 1 lazy 1365 pending 0 ran 1 queued 1" in p.stdout, \
            p.stdout
        assert "deferred work never ran" not in p.stdout, p.stdout
        with open(ft) as f:
            purge = [l for l in f if "purge_vmap_area_lazy:" in l]
        assert len(purge) == 1 and "kworker/1:1" in purge[0], purge
        # with the kworker off, work left queued outside m:run is not silent
        p = run(vmlab, "run", scen("lazy0.lua", lazy.replace("KW", "kworker = false")),
                code=0)
        assert "purges 0 lazy 26000 pending 1 ran 0 queued 1" in p.stdout, \
            p.stdout
        assert "WARNING: deferred work never ran" in p.stdout, p.stdout
        assert "left since 'vfree' outside m:run" in p.stdout, p.stdout
        # explicit run_work() still runs it
        p = run(vmlab, "run", scen("lazy1.lua", lazy.replace(
            "local s,", "assert(c:run_work() == 1)\nlocal s,").replace(
            "KW", "kworker = false")), code=0)
        assert "purges 1 lazy 0 pending 0 ran 1" in p.stdout, p.stdout
        assert "deferred work never ran" not in p.stdout, p.stdout
        # an error is printed once, not on stdout and stderr both
        p = run(vmlab, "run", scen("once.lua", "local m = vmlab.machine{}\n"
                                   "m:read64('x')\n"), code=1)
        assert (p.stdout + p.stderr).count("bad argument #1") == 1, p
    # kernel warnings come with the output, under their machine's label
    p = run(vmlab, "run", "flush-reset-perms", code=0)
    assert "WARNING" not in p.stderr, p.stderr
    assert "kernel warnings on 'rw, nx': 24 x CPA detected W^X" in p.stdout
    assert "[rw, nx] WARNING: CPA detected W^X violation" in p.stdout
    # a planted race's replay says what the tour says, and exits 1
    p = run(vmlab, "replay", "race", "--seed", "5", "--policy", "pct", code=1)
    assert "FOUND (the race this scenario plants)" in p.stdout
    assert "unexpected" not in p.stdout
    for cmd in ("run", "explore", "replay", "list", "tour", "bench"):
        assert "vmlab " + cmd in run(vmlab, "help", cmd, code=0).stdout
    assert run(vmlab, "version", code=0).stdout.startswith("vmlab ")
    out = run(vmlab, "list", code=0).stdout
    for name in ("stale-tlb", "race", "direct-map-splits"):
        assert re.search(rf"^{name} +\S", out, re.M), out


def t_batch(vmlab, gdir):
    """stat, sweeps, workers, shards and merge."""
    with tempfile.TemporaryDirectory() as tmp:
        def j(*args, code=0):
            return run(vmlab, *args, code=code).stdout
        # results do not depend on the worker count
        one = j("stat", "race", "--runs", "12", "--json", "--jobs", "1")
        assert one == j("stat", "race", "--runs", "12", "--json", "--jobs", "3")
        d = json.loads(one)
        assert d["kind"] == "stat" and len(d["records"]) == 12
        assert [r["seed"] for r in d["records"]] == list(range(1, 13))
        fig = {f["figure"]: f for f in d["points"][0]["figures"]}
        assert fig["checker reports"]["n"] == 12
        assert isinstance(fig["checker reports"]["mean"], (int, float))
        # a range sweep: 1, 2, 4, ..., 64 pages, typed parameters
        d = json.loads(j("run", "direct-map-splits", "-D", "pages=1..64*2",
                         "--json"))
        assert d["axes"] == [{"name": "pages",
                              "values": [1, 2, 4, 8, 16, 32, 64]}], d["axes"]
        pts = {p["params"]["pages"]: p for p in d["points"]}
        def mean(p, col, name):
            return next(f["mean"] for f in p["figures"]
                        if f["column"] == col and f["figure"] == name)
        for n in (1, 2, 4, 8, 16, 32, 64):
            assert mean(pts[n], "scattered", "level2 splits (2M->4K)") == n
            assert mean(pts[n], "packed", "level2 splits (2M->4K)") == 1
        # a cross product: lists and ranges, in -D order
        d = json.loads(j("run", "race", "-D", "work0=1,2", "-D",
                         "work1=0..10+5", "--json"))
        assert [(p["params"]["work0"], p["params"]["work1"])
                for p in d["points"]] == [(1, 0), (1, 5), (1, 10), (2, 0),
                                          (2, 5), (2, 10)]
        # text and CSV: one table
        out = j("run", "direct-map-splits", "-D", "pages=1,4")
        assert re.search(r"^  pages=4 +0 +2048 +8192", out, re.M), out
        csv = j("stat", "direct-map-splits", "-D", "pages=1,4", "--runs", "2",
                "--csv").splitlines()
        assert csv[0] == "pages,column,figure,runs,mean,min,max,stddev,value"
        assert "4,scattered,level2 splits (2M->4K),2,4,4,4,0," in csv, csv
        # shards merge back to the unsharded document, byte for byte
        for cmd in (["stat", "race", "--runs", "30"],
                    ["run", "direct-map-splits", "-D", "pages=1..16*2",
                     "--runs", "2"],
                    ["explore", "race", "--seeds", "200", "--policy",
                     "random"]):
            full = j(*cmd, "--json", "--jobs", "2",
                     code=1 if cmd[0] == "explore" else 0)
            files = []
            for k in range(1, 5):
                path = os.path.join(tmp, f"s{k}.json")
                with open(path, "w") as f:
                    f.write(j(*cmd, "--shard", f"{k}/4", "--jobs", "1",
                              code=None))
                files.append(path)
            merged = run(vmlab, "merge", *files, code=None).stdout
            assert merged == full, (cmd, merged[:400], full[:400])
            # a missing shard is an error, not a smaller answer
            p = run(vmlab, "merge", *files[:3], code=2)
            assert "missing" in p.stderr, p.stderr
        # shards record --mutant: a merge says so and refuses mixed runs
        mut = ["stat", "stale-tlb", "--runs", "4", "--mutant",
               "purge-no-flush"]
        full = j(*mut, "--json")
        assert json.loads(full)["mutants"] == ["purge-no-flush"]
        assert "mutants" not in json.loads(j("stat", "stale-tlb", "--runs",
                                             "2", "--json"))
        files = []
        for k, args in ((1, mut), (2, mut), (2, mut[:4])):
            path = os.path.join(tmp, f"m{k}-{len(args)}.json")
            with open(path, "w") as f:
                f.write(j(*args, "--shard", f"{k}/2", "--jobs", "1"))
            files.append(path)
        merged = run(vmlab, "merge", *files[:2], code=None).stdout
        assert merged == full, (merged[:400], full[:400])
        p = run(vmlab, "merge", files[0], files[2], code=2)
        assert "refusing to merge mixed runs" in p.stderr, p.stderr
        assert "--mutant purge-no-flush" in p.stderr, p.stderr
        assert ", mutant purge-no-flush" in j("stat", "stale-tlb", "--runs",
                                              "2", *mut[4:])
        # explore: the lowest failing seed, whatever the worker count
        a = j("explore", "race", "--seeds", "300", "--policy", "random",
              "--jobs", "1", code=1)
        b = j("explore", "race", "--seeds", "300", "--policy", "random",
              "--jobs", "2", code=1)
        assert a == b and "fails (run" in a
        # bad sweeps are usage errors
        for args, msg in ((["-D", "pages=64..1"], "never reaches"),
                          (["-D", "pages=1..x"], "a range is"),
                          (["--shard", "5/4"], "--shard is K/N")):
            p = run(vmlab, "run", "direct-map-splits", *args, code=2)
            assert msg in p.stderr, p.stderr


def t_parallel(vmlab, gdir):
    """The documented GNU parallel recipe: 4 shards, merged."""
    import shutil
    if not shutil.which("parallel"):
        sys.exit("GNU parallel is not installed (make check installs it: "
                 "apt-get install parallel)")
    with tempfile.TemporaryDirectory() as tmp:
        cmd = f"{vmlab} stat race --runs 40 --jobs 1 --shard {{}}/4 " \
              f"> {tmp}/shard-{{}}.json"
        p = subprocess.run(["parallel", "--will-cite", "-j", "4", cmd,
                            ":::", "1", "2", "3", "4"],
                           capture_output=True, text=True, timeout=1100)
        assert p.returncode == 0, p.stderr
        merged = run(vmlab, "merge", *[f"{tmp}/shard-{k}.json"
                                       for k in range(1, 5)], code=0).stdout
        full = run(vmlab, "stat", "race", "--runs", "40", "--json",
                   code=0).stdout
        assert merged == full
        print("4 shards under GNU parallel merge to the unsharded result")


TESTS = {
    "inspect": t_inspect,
    "ftrace": t_ftrace,
    "batch": t_batch,
    "parallel": t_parallel,
    "golden-tour": t_golden_tour,
    "golden-json": t_golden_json,
    "trace": t_trace,
    "explore-replay": t_explore_replay,
    "errors": t_cli_errors,
    "kasan": t_kasan,
}

if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in TESTS:
        sys.exit(__doc__)
    TESTS[sys.argv[1]](sys.argv[2], sys.argv[3])
