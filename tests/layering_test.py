#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Layering rules checked by grepping the sources.

1. The machine (src/machine, src/arch) knows no upper layer by name: it
   includes nothing from src/check (nor the checker header) and calls no
   checker function; upper layers reach it through observers.
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

for b in bad:
    print("layering:", b)
sys.exit(1 if bad else 0)
