#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""vmlab report in a real browser: Debian's chromium, headless, driven
over the DevTools protocol on a pipe.  Loads the page, requires no console
error, no failed load and rendered SVG plots (lines, axes, legends), and
writes a screenshot next to the test log.  A page with a planted console
error and a failed load must be caught the same way (the check can fail).

Usage: report_test.py VMLAB OUTDIR
"""
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile


class Browser:
    def __init__(self, exe):
        self.r_in, self.w_in = os.pipe()    # we write commands here (fd 3)
        self.r_out, self.w_out = os.pipe()  # chromium answers here (fd 4)
        prof = tempfile.mkdtemp(prefix="vmlab-chromium-")
        self.prof = prof

        def fds():
            os.dup2(self.r_in, 3)
            os.dup2(self.w_out, 4)
        self.p = subprocess.Popen(
            [exe, "--headless=new", "--no-sandbox", "--disable-gpu",
             "--no-first-run", "--no-default-browser-check",
             "--hide-scrollbars", "--remote-debugging-pipe",
             f"--user-data-dir={prof}", "about:blank"],
            preexec_fn=fds, pass_fds=(3, 4), stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        os.close(self.r_in)
        os.close(self.w_out)
        self.buf = b""
        self.id = 0
        self.events = []

    def _read(self):
        while b"\0" not in self.buf:
            chunk = os.read(self.r_out, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the pipe")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method, params=None, session=None):
        self.id += 1
        m = {"id": self.id, "method": method, "params": params or {}}
        if session:
            m["sessionId"] = session
        os.write(self.w_in, json.dumps(m).encode() + b"\0")
        while True:
            r = self._read()
            if r.get("id") == self.id:
                if "error" in r:
                    raise RuntimeError(f"{method}: {r['error']}")
                return r.get("result", {})
            self.events.append(r)

    def wait_event(self, name, session):
        for i, e in enumerate(self.events):
            if e.get("method") == name and e.get("sessionId") == session:
                return self.events.pop(i)
        while True:
            e = self._read()
            if e.get("method") == name and e.get("sessionId") == session:
                return e
            self.events.append(e)

    def load(self, url, width=1100):
        """Open url in a new page: (errors, checks, png bytes)."""
        tid = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        s = self.call("Target.attachToTarget",
                      {"targetId": tid, "flatten": True})["sessionId"]
        for m in ("Page.enable", "Runtime.enable", "Log.enable"):
            self.call(m, session=s)
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": 900, "deviceScaleFactor": 1,
                   "mobile": False}, session=s)
        self.call("Page.navigate", {"url": url}, session=s)
        self.wait_event("Page.loadEventFired", s)
        checks = self.call("Runtime.evaluate", {"returnByValue": True,
            "expression": """JSON.stringify({
              svgs: document.querySelectorAll('svg').length,
              drawn: [...document.querySelectorAll('svg')].filter(
                  s => s.getBBox().width > 100 && s.getBBox().height > 100).length,
              lines: [...document.querySelectorAll('svg polyline')].filter(
                  p => p.points.numberOfItems >= 2).length,
              legends: document.querySelectorAll('svg text.lg').length,
              sections: document.querySelectorAll('section h3').length,
              title: document.title,
              height: document.documentElement.scrollHeight})"""},
            session=s)["result"]["value"]
        png = base64.b64decode(self.call("Page.captureScreenshot",
            {"format": "png", "captureBeyondViewport": True}, session=s)["data"])
        errors = []
        for e in self.events:
            if e.get("sessionId") != s:
                continue
            m, p = e.get("method"), e.get("params", {})
            if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                errors.append("console." + p["type"] + ": " +
                              " ".join(str(a.get("value", a.get("description")))
                                       for a in p.get("args", [])))
            elif m == "Runtime.exceptionThrown":
                errors.append("exception: " + p["exceptionDetails"].get("text", ""))
            elif m == "Log.entryAdded" and p["entry"]["level"] == "error":
                errors.append("log: " + p["entry"]["text"])
        self.events = [e for e in self.events if e.get("sessionId") != s]
        self.call("Target.closeTarget", {"targetId": tid})
        return errors, json.loads(checks), png

    def close(self):
        try:
            self.call("Browser.close")
        except Exception:
            pass
        self.p.wait(timeout=30)
        shutil.rmtree(self.prof, ignore_errors=True)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    vmlab, outdir = sys.argv[1], sys.argv[2]
    exe = shutil.which("chromium")
    if not exe:
        sys.exit("chromium is not installed (make check installs it: "
                 "apt-get install chromium)")
    with tempfile.TemporaryDirectory() as tmp:
        page = os.path.join(tmp, "report.html")
        p = subprocess.run([vmlab, "report", "-o", page, "--jobs", "2"],
                           capture_output=True, text=True, timeout=600)
        assert p.returncode == 0, p.stdout + p.stderr
        html = open(page).read()
        # self-contained: nothing for the browser to fetch
        for bad in ("<script", "<link", "src=\"http", "@import"):
            assert bad not in html, bad
        traces = os.listdir(os.path.join(tmp, "report-traces"))
        assert "stale-tlb.json" in traces, traces
        planted = os.path.join(tmp, "planted.html")
        with open(planted, "w") as f:
            f.write("<!DOCTYPE html><title>x</title><script>console.error"
                    "('planted')</script><img src=\"missing.png\">")
        b = Browser(exe)
        try:
            errors, checks, png = b.load("file://" + page)
            perr, _, _ = b.load("file://" + planted)
        finally:
            b.close()
    shot = os.path.join(outdir, "vmlab-report.png")
    with open(shot, "wb") as f:
        f.write(png)
    print(f"screenshot: {shot} ({len(png)} bytes)")
    print(f"page: {checks}")
    assert any("planted" in e for e in perr), perr
    assert any("missing.png" in e or "ERR_FILE_NOT_FOUND" in e for e in perr), perr
    assert not errors, errors
    assert checks["title"].startswith("vmlab"), checks
    assert checks["svgs"] >= 4 and checks["drawn"] == checks["svgs"], checks
    assert checks["lines"] >= 6 and checks["legends"] >= 6, checks
    assert checks["sections"] >= 6, checks
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 50000


if __name__ == "__main__":
    main()
