#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`meson install` puts the binary, library, headers, pkg-config file, man
page and built-in scenarios in place, and a tiny C program builds against
the installed library with `pkg-config --cflags --libs vmlab` and runs.

Usage: install_test.py BUILD_DIR SANITIZE   (SANITIZE: meson's b_sanitize)
"""
import glob
import os
import subprocess
import sys
import tempfile

PROGRAM = r"""
#include <stdio.h>
#include <vmlab/vmlab.h>

int main(void)
{
	struct vmlab_config cfg;
	vmlab_config_default(&cfg);
	cfg.nr_cpus = 2;
	struct vmlab_machine *m;
	if (vmlab_boot(&cfg, &m))
		return 1;
	printf("booted %d CPUs\n", vmlab_nr_cpus(m));
	vmlab_machine_destroy(m);
	return 0;
}
"""


def sh(*args, env=None):
    p = subprocess.run(args, capture_output=True, text=True, env=env,
                       timeout=300)
    if p.returncode:
        sys.exit(f"{' '.join(args)}: exit {p.returncode}\n{p.stdout}{p.stderr}")
    return p.stdout


def main():
    build, sanitize = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as dest:
        sh("meson", "install", "-C", build, "--destdir", dest, "--no-rebuild",
           "--quiet")
        pcs = glob.glob(f"{dest}/**/pkgconfig/vmlab.pc", recursive=True)
        assert len(pcs) == 1, pcs
        pcdir = os.path.dirname(pcs[0])
        # the .pc names the final prefix; under DESTDIR it moves with it
        prefix = sh("pkg-config", "--variable=prefix", pcs[0]).strip()
        root = dest + prefix
        for path in ("bin/vmlab", "share/man/man1/vmlab.1",
                     "include/vmlab/vmlab.h",
                     "share/vmlab/scenarios/stale-tlb.lua",
                     "share/vmlab/scenarios/report/flush-ceiling.lua"):
            assert os.path.exists(os.path.join(root, path)), path
        env = dict(os.environ, PKG_CONFIG_PATH=pcdir)
        flags = sh("pkg-config", f"--define-variable=prefix={root}",
                   "--cflags", "--libs", "vmlab", env=env).split()
        src = os.path.join(dest, "tiny.c")
        with open(src, "w") as f:
            f.write(PROGRAM)
        exe = os.path.join(dest, "tiny")
        # a sanitized library needs its runtime in the program too
        san = [] if sanitize == "none" else [f"-fsanitize={sanitize}"]
        sh("cc", "-std=c11", "-Wall", "-Werror", *san, src, "-o", exe, *flags)
        libdir = [f[2:] for f in flags if f.startswith("-L")]
        assert libdir and libdir[0].startswith(dest), flags
        out = sh(exe, env=dict(os.environ, LD_LIBRARY_PATH=libdir[0]))
        assert out == "booted 2 CPUs\n", out
        out = sh(os.path.join(root, "bin/vmlab"), "run", os.path.join(
            root, "share/vmlab/scenarios/stale-tlb.lua"))
        assert "result: ok" in out, out
        print("installed; tiny program built with pkg-config:", " ".join(flags))


if __name__ == "__main__":
    main()
