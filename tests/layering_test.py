#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Layering rules checked by grepping the sources.

1. The machine (src/machine, src/arch) knows no upper layer by name: it
   includes nothing from src/check (nor the checker header) and calls no
   checker function; upper layers reach it through observers.
2. No x86 page-table bit outside src/arch/x86 (and the walker dispatch).
3. The arch boundary (src/arch/arch.h): architecture code includes no
   machine header but that one; generic machine code includes no
   src/arch/<arch>/ header (the walker's inlined walk.h rules in access.c
   excepted) and calls no architecture's function by name: it goes
   through m->arch->tlb hooks.
"""
import pathlib
import re
import sys

root = pathlib.Path(sys.argv[1])
bad = []


def sources(*dirs):
    for d in dirs:
        p = root / d
        if p.is_dir():
            yield from sorted(p.rglob("*.[ch]"))


upper = re.compile(r'#include\s+"(check/|sim/|cli/|services/|user/|'
                   r'vmlab/checker\.h|vmlab/vmalloc\.h|vmlab/user\.h|'
                   r'vmlab/directmap\.h|vmlab/vmlab\.h)')
names = re.compile(r'\b(ck_[a-z_]+\s*\(|vmlab_checker_[a-z_]+\s*\(|'
                   r'struct checker\b)')
for f in sources("src/machine", "src/arch"):
    for n, line in enumerate(f.read_text().splitlines(), 1):
        code = line.split("//")[0]
        if upper.search(code) or (names.search(code) and
                                  not code.lstrip().startswith(("*", "/*"))):
            bad.append(f"{f.relative_to(root)}:{n}: {line.strip()}")

x86 = re.compile(r'\bX86_(?!64\b)[A-Z_]+|0x000ffffffffff000|'
                 r'#include\s+"arch/x86/')
for f in sources("src", "include"):
    rel = str(f.relative_to(root))
    if rel.startswith("src/arch/x86/") or rel == "src/machine/access.c":
        continue
    for n, line in enumerate(f.read_text().splitlines(), 1):
        if x86.search(line):
            bad.append(f"{rel}:{n}: x86 bit outside src/arch/x86: "
                       f"{line.strip()}")

def scan(dirs, check):
    """check(rel, line) -> a complaint or None, for every source line."""
    for f in sources(*dirs):
        rel = str(f.relative_to(root))
        for n, line in enumerate(f.read_text().splitlines(), 1):
            why = check(rel, line)
            if why:
                bad.append(f"{rel}:{n}: {why}: {line.strip()}")


mach_inc = re.compile(r'#include\s+"(machine/|internal\.h)')
scan(["src/arch"], lambda rel, line:
     "arch code includes a machine header (use arch/arch.h)"
     if rel != "src/arch/arch.h" and mach_inc.search(line) else None)

arch_inc = re.compile(r'#include\s+"arch/(x86|arm64)/([a-z0-9_]+\.h)"')
arch_call = re.compile(r'\b(arm64|x86)_[a-z0-9_]+\s*\(')


def machine_to_arch(rel, line):
    walker = rel == "src/machine/access.c"
    mi = arch_inc.search(line)
    if mi and not (walker and mi.group(2) == "walk.h"):
        return "machine includes an arch header (use arch/arch.h)"
    code = line.split("//")[0]
    if (arch_call.search(code) and not walker and
            not code.lstrip().startswith(("*", "/*"))):
        return "machine calls an arch function by name (use m->arch->tlb)"
    return None


scan(["src/machine"], machine_to_arch)

for b in bad:
    print("layering:", b)
sys.exit(1 if bad else 0)
