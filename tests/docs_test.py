#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The documentation against the code, so it cannot drift.
Usage: docs_test.py TEST SOURCE_ROOT [VMLAB]

  readme-tour    README's tour list names every entry of `vmlab tour
                 --list`, in its order, and nothing else
  lua-reference  every function the Lua binding registers (src/sim/lua_*.c:
                 luaL_Reg tables, lua_pushcfunction + lua_setfield) has a
                 row of its own in doc/sim.md's "Reference: every Lua call"
"""
import pathlib
import re
import subprocess
import sys


def readme_tour(root, vmlab):
    text = (root / "README.md").read_text()
    sec = text.split("## A 5-minute tour", 1)[1].split("Then try:", 1)[0]
    listed = re.findall(r"^\* `([a-z0-9-]+)` --", sec, re.M)
    p = subprocess.run([vmlab, "tour", "--list"], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    entries = [line.split()[0] for line in p.stdout.splitlines() if line]
    assert len(entries) >= 2, p.stdout
    missing = [e for e in entries if e not in listed]
    extra = [e for e in listed if e not in entries]
    assert not missing and not extra, \
        f"README tour list: missing {missing}, not in the tour {extra}"
    assert listed == entries, \
        f"README tour list out of order:\n  {listed}\nvs vmlab tour --list:\n  {entries}"
    print(f"README lists the {len(entries)} tour entries in order")


# Where a registration lands: luaL_Reg arrays by (file, name),
# pushcfunction sites by (file, field).  "m": the machine/CPU handle
# methods.  A new site that is not classified here fails the test, so it
# is looked at.
ARRAY_OBJECT = {("lua_user.c", "mm_methods"): "mm",
                ("lua_pidfd.c", "methods"): "mm",
                ("lua_pidfd.c", "machine_methods"): "m",
                ("lua_uffd.c", "uffd_machine"): "m",
                ("lua_uffd.c", "uffd_mm_methods"): "mm",
                ("lua_uffd.c", "uffd_methods"): "u",
                ("lua_file.c", "machine_methods"): "m",
                ("lua_file.c", "methods"): "f",
                ("lua_mmevents.c", "mm_methods"): "mm",
                ("lua_thp.c", "thp_mm_methods"): "mm",
                ("lua_thp.c", "thp_ops"): "m",
                ("lua_notifier.c", "smmu_m"): "s",
                ("lua_notifier.c", "kvm_m"): "k",
                ("lua_notifier.c", "n_m"): "n",
                ("lua_notifier.c", "machine_ops"): "m",
                ("lua_vmlab.c", "fns"): "vmlab",
                ("lua_execmem.c", "execmem_methods"): "m",
                ("lua_kasan.c", "kasan_methods"): "m",
                ("lua_machine.c", "machine_methods"): "m",
                ("lua_observe.c", "observe"): "m",
                ("lua_ops.c", "ops"): "m",
                ("lua_user.c", "user_ops"): "m",
                ("lua_vmalloc.c", "vmalloc_methods"): "m",
                ("lua_walk.c", "walk_methods"): "m"}
PUSH_OBJECT = {("lua_machine.c", "machine"): "vmlab",
               ("lua_replay.c", "replay_trace"): "vmlab",
               ("lua_notifier.c", "notifier"): "mm"}


def registrations(root):
    """(object, name, file) for every Lua-callable function."""
    regs = []
    for f in sorted((root / "src" / "sim").glob("lua_*.c")):
        src = f.read_text()
        found = 0
        for m in re.finditer(r"luaL_Reg\s+(\w+)\[\]\s*=\s*\{(.*?)\};", src,
                             re.S):
            obj = ARRAY_OBJECT.get((f.name, m.group(1)))
            assert obj, f"{f.name}: luaL_Reg {m.group(1)} registers on what? " \
                        f"(classify it in docs_test.py ARRAY_OBJECT)"
            for name in re.findall(r'\{\s*"(\w+)"\s*,\s*\w+\s*\}', m.group(2)):
                regs.append((obj, name, f.name))
                found += 1
        for m in re.finditer(r'lua_pushcfunction\(L,\s*\w+\);\s*'
                             r'lua_setfield\(L,\s*-2,\s*"(\w+)"\)', src):
            name = m.group(1)
            if name.startswith("__"):
                continue  # metamethods
            obj = PUSH_OBJECT.get((f.name, name))
            assert obj, f"{f.name}: '{name}' registered on what? (classify " \
                        f"it in docs_test.py PUSH_OBJECT)"
            regs.append((obj, name, f.name))
            found += 1
        if "luaL_setfuncs" in src or "luaL_newlib" in src:
            assert found, f"{f.name} registers functions the test cannot see"
    return regs


def expand_braces(s):
    """set_memory_{ro,rw}(a) -> set_memory_ro(a) set_memory_rw(a)."""
    m = re.search(r"(\w*)\{([\w,]+)\}(\w*)", s)
    if not m:
        return s
    alts = " ".join(m.group(1) + a + m.group(3) for a in m.group(2).split(","))
    return expand_braces(s[:m.start()] + alts + s[m.end():])


def reference_rows(root):
    text = (root / "doc" / "sim.md").read_text()
    sec = text.split("## Reference: every Lua call", 1)[1].split("\n## ", 1)[0]
    cells = []
    for line in sec.splitlines():
        if not line.startswith("| `"):
            continue
        # the call cell: up to the first '|' outside backticks
        call, tick = "", False
        for ch in line[1:]:
            if ch == "`":
                tick = not tick
            if ch == "|" and not tick:
                break
            call += ch
        cells.append(expand_braces(call.replace("\\|", "|")))
    return cells


def lua_reference(root, vmlab):
    regs = registrations(root)
    cells = reference_rows(root)
    assert len(regs) > 100 and len(cells) > 50, (len(regs), len(cells))
    missing = []
    for obj, name, fname in regs:
        if obj == "m":  # machine or CPU handle: m:name, c:name or bare
            pat = rf"(?<![\w.:])(?:[mc]:)?{name}\b(?=[(\{{/ `,]|$)"
        elif obj == "vmlab":
            pat = rf"\bvmlab\.{name}\b"
        else:
            pat = rf"(?<![\w.]){obj}:(?:\w+/)*{name}\b"
        if not any(re.search(pat, c) for c in cells):
            missing.append(f"{obj}:{name} ({fname})")
    assert not missing, "no reference row in doc/sim.md for:\n  " + \
        "\n  ".join(missing)
    print(f"{len(regs)} registered Lua functions, each with a reference row")


TESTS = {"readme-tour": readme_tour, "lua-reference": lua_reference}

if __name__ == "__main__":
    if len(sys.argv) not in (3, 4) or sys.argv[1] not in TESTS:
        sys.exit(__doc__)
    TESTS[sys.argv[1]](pathlib.Path(sys.argv[2]),
                       sys.argv[3] if len(sys.argv) == 4 else None)
