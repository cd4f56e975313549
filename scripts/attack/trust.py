#!/usr/bin/env python3
"""Attacks on the trust anchor and the other issue-17 findings, against a
running Mandate with the demo organisation (Python standard library only).

Each check prints one line, "ok" or "FAIL", and the script exits 1 if any
failed. The cases:

  * an ISMS lead edits a person to make them top management and to link
    their own account, invites an executive, and posts a roster proposal;
  * an owner's proposal does not take effect until a leader confirms it;
  * 60 concurrent wrong passwords for one account: at most 5 reach the
    password check (the others are refused as locked);
  * sign-up answers the same for a known and an unknown address;
  * malformed ids answer 404 like missing ones, on several routes;
  * a CSV export defuses a formula after a ';' inside a cell;
  * a signed-off review cannot be edited, nor its evidence unlinked;
  * an auditor's bundle checks with its SHA256SUMS alone, and a copy whose
    local file header names an entry differently from the central directory
    is refused by `mandate verify-bundle` (with --bin);
  * a request whose headers are never finished is closed by the server
    (only with --slow-seconds: how long to wait at most).

usage: trust.py --base URL --logins FILE [--bin MANDATE] [--slow-seconds N]
"""
import argparse
import concurrent.futures
import hashlib
import io
import os
import subprocess
import tempfile
import zipfile
import html
import http.cookiejar
import re
import socket
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

FAILED = []


def check(name, ok, detail=""):
    print(("ok   " if ok else "FAIL ") + name + (f": {detail}" if detail and not ok else ""))
    if not ok:
        FAILED.append(name)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Session:
    """A browser-like client: cookies, CSRF tokens from the pages, no redirects followed."""

    def __init__(self, base, addr=None):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), NoRedirect)
        self.addr = addr

    def request(self, method, path, fields=None):
        data = urllib.parse.urlencode(fields).encode() if fields is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if self.addr:
            req.add_header("X-Forwarded-For", self.addr)
        try:
            with self.opener.open(req, timeout=60) as res:
                return res.status, res.read().decode("utf-8", "replace"), res.headers
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode("utf-8", "replace"), e.headers

    def get(self, path):
        return self.request("GET", path)

    def token(self, path="/dashboard"):
        _, body, _ = self.get(path)
        m = re.search(r'name="csrf_token" value="([^"]+)"', body)
        return html.unescape(m.group(1)) if m else ""

    def post(self, path, fields, token_from="/dashboard"):
        return self.request("POST", path, dict(fields, csrf_token=self.token(token_from)))

    def sign_in(self, email, password):
        status, _, _ = self.post("/login", {"email": email, "password": password}, token_from="/login")
        return status == 303


def logins(path):
    """Role -> (email, password) from the demo's logins file."""
    out = {}
    for line in open(path, encoding="utf-8").read().splitlines()[1:]:
        # "  ISMS lead    priya.shah@acme.example    secret   (Priya Shah)"
        m = re.match(r"\s*(.+?)\s+(\S+@\S+)\s+(\S+)\s+\(", line)
        if m:
            out[m.group(1)] = (m.group(2), m.group(3))
    return out


def people_rows(s):
    """name -> (top_management, account) from the people CSV."""
    _, body, _ = s.get("/people.csv?status=all")
    rows = {}
    for line in body.splitlines()[1:]:
        cells = next(iter(__import__("csv").reader([line])))
        if len(cells) >= 12:
            rows[cells[0]] = (cells[8], cells[11])
    return rows


def person_id(s, name):
    _, body, _ = s.get("/people?status=all&q=" + urllib.parse.quote(name))
    m = re.search(r'href="/people/([0-9a-f-]{36})"[^>]*>' + re.escape(name), body)
    return m.group(1) if m else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--logins", required=True)
    ap.add_argument("--slow-seconds", type=float, default=0)
    ap.add_argument("--bin", default="")
    args = ap.parse_args()
    base, who = args.base, logins(args.logins)

    lead = Session(base)
    check("the ISMS lead signs in", lead.sign_in(*who["ISMS lead"]))
    owner = Session(base)
    check("the owner signs in", owner.sign_in(*who["Owner"]))
    ceo = Session(base)
    check("the CEO signs in", ceo.sign_in(*who["Executive"]))

    # 1. An ISMS lead cannot make anyone top management, nor take over an account link.
    lead_email = who["ISMS lead"][0]
    before = people_rows(lead)
    me = person_id(lead, "Priya Shah")
    status, _, _ = lead.post(f"/people/{me}", {
        "name": "Priya Shah", "email": lead_email, "kind": "employee", "job_title": "Head of Information Security",
        "department": "Operations", "top_management": "on", "line_manager": "on", "security_clause": "on",
    }, token_from=f"/people/{me}")
    after = people_rows(lead)
    check("an edit cannot set the top-management flag", after.get("Priya Shah", ("", ""))[0] == "no", f"answered {status}, now {after.get('Priya Shah')}")
    ceo_id = person_id(lead, "Daniel Okafor")
    lead.post(f"/people/{ceo_id}", {"name": "Daniel Okafor", "email": "daniel.okafor@acme.example", "kind": "employee",
                                    "user_id": "00000000-0000-0000-0000-000000000000"}, token_from=f"/people/{ceo_id}")
    check("an edit cannot relink the CEO's account", people_rows(lead).get("Daniel Okafor") == before.get("Daniel Okafor"), str(people_rows(lead).get("Daniel Okafor")))
    status, _, _ = lead.post("/members/invite", {"email": "boss@elsewhere.example", "role": "executive"}, token_from="/members")
    check("an ISMS lead cannot invite an executive", status == 422, f"answered {status}")
    status, _, _ = lead.post("/people/roster", {"person_id": me, "change": "add"}, token_from="/people/roster")
    check("an ISMS lead cannot propose a roster change", status == 403, f"answered {status}")

    # 2. An owner's proposal waits for a leader.
    cto = person_id(owner, "Rafael Duarte")
    status, _, _ = owner.post("/people/roster", {"person_id": cto, "change": "add", "reason": "attack run"}, token_from="/people/roster")
    _, page, _ = owner.get("/people/roster")
    pending = re.search(r'action="/people/roster/([0-9a-f-]{36})/confirm"', ceo.get("/people/roster")[1])
    check("an owner's proposal is recorded as waiting", status == 303 and pending is not None, f"answered {status}")
    if pending:
        status, _, _ = owner.post(f"/people/roster/{pending.group(1)}/confirm", {}, token_from="/people/roster")
        check("the proposer cannot confirm", status == 409, f"answered {status}")
        status, _, _ = lead.post(f"/people/roster/{pending.group(1)}/confirm", {}, token_from="/people/roster")
        check("an ISMS lead cannot confirm", status == 403, f"answered {status}")
        status, _, _ = ceo.post(f"/people/roster/{pending.group(1)}/confirm", {}, token_from="/people/roster")
        check("the CEO confirms", status == 303 and people_rows(ceo).get("Rafael Duarte", ("",))[0] == "yes", f"answered {status}")

    # 3. Throttling is atomic: 60 wrong passwords at once, each from its own address.
    victim = who["Contributor"][0]

    def wrong(i):
        s = Session(base, addr=f"198.51.100.{i + 1}")
        status, _, _ = s.post("/login", {"email": victim, "password": "not the password at all"}, token_from="/login")
        return status

    with concurrent.futures.ThreadPoolExecutor(max_workers=60) as pool:
        answers = list(pool.map(wrong, range(60)))
    checked = answers.count(401)
    print(f"     60 concurrent wrong passwords: {checked} reached the password check, {answers.count(429)} refused as locked")
    check("at most 5 of 60 concurrent wrong passwords reach the check", checked <= 5 and checked + answers.count(429) == 60, str(sorted(set(answers))))

    # 4. Sign-up does not reveal known addresses.
    def signup(email):
        s = Session(base, addr="192.0.2.77")
        status, body, _ = s.post("/signup", {"org_name": "Probe", "name": "Probe", "email": email, "password": "a long enough probe password"}, token_from="/signup")
        main_text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body.split("<main", 1)[-1].split("</main>", 1)[0]))
        return status, main_text.replace(email, "ADDRESS")

    check("sign-up answers the same for a known and a new address", signup(lead_email) == signup("nobody-here@example.org"))

    # 5. Malformed ids answer as missing ones.
    for path in ["/people/not-an-id", "/appointments/1'/confirm", "/policies/%00", "/meetings/00000000-0000-0000-0000-00000000000g"]:
        status = (lead.post(path, {}) if "confirm" in path else lead.get(path))[0]
        missing = (lead.post(re.sub(r"/[^/]+(/confirm)?$", "/00000000-0000-4000-8000-000000000000\\1", path), {}) if "confirm" in path
                   else lead.get(re.sub(r"/[^/]+$", "/00000000-0000-4000-8000-000000000000", path)))[0]
        check(f"a malformed id answers like a missing one ({path})", status == missing, f"{status} against {missing}")

    # 6. Formula triggers after a separator inside a cell are defused.
    status, _, _ = lead.post("/people", {"name": "Probe;=HYPERLINK(\"http://x\")", "email": "probe-formula@acme.example", "kind": "employee"}, token_from="/people/new")
    _, body, _ = lead.get("/people.csv?q=probe-formula")
    check("a formula after ';' is defused in CSV exports", "Probe;'=HYPERLINK" in body, body[:200])

    # 6b. Signed means final: the signed-off spring review stays as signed.
    _, meetings, _ = lead.get("/meetings")
    m = re.search(r'href="/meetings/([0-9a-f-]{36})"[^>]*>Management review, spring', meetings)
    check("the signed-off review is listed", m is not None)
    if m:
        meeting = m.group(1)
        _, page, _ = lead.get(f"/meetings/{meeting}")
        item = re.search(r'href="/evidence/([0-9a-f-]{36})"', page)
        status, _, _ = lead.post(f"/meetings/{meeting}", {"kind": "management_review", "title": "Rewritten", "held_on": "2026-07-09"}, token_from=f"/meetings/{meeting}")
        check("a signed-off review refuses edits", status == 409, f"answered {status}")
        if item:
            status, _, _ = lead.post(f"/evidence/{item.group(1)}/links/remove", {"target": f"meeting:{meeting}"}, token_from=f"/evidence/{item.group(1)}")
            check("a signed-off review's evidence cannot be unlinked", status == 409, f"answered {status}")

    # 7. Bundles anyone can check, and a swapped local header is caught.
    if args.bin:
        auditor = Session(base)
        check("the auditor signs in", auditor.sign_in(*who["Auditor"]))
        status, _, headers = auditor.post("/bundles", {"as_of": time.strftime("%Y-%m-%d", time.gmtime())}, token_from="/bundles")
        job = headers.get("Location", "")
        zipped = b""
        for _ in range(600):
            if "/download" in auditor.get(job)[1]:
                status, _, _ = auditor.get(job + "/download")
                req = urllib.request.Request(base + job + "/download")
                with auditor.opener.open(req, timeout=120) as res:
                    zipped = res.read()
                break
            time.sleep(0.2)
        check("the auditor's bundle is made", len(zipped) > 0, f"POST answered {status} to {job!r}")
        if zipped:
            z = zipfile.ZipFile(io.BytesIO(zipped))
            sums = z.read("SHA256SUMS").decode().splitlines()
            bad = [l for l in sums if hashlib.sha256(z.read(l[66:])).hexdigest() != l[:64]]
            check("every file matches SHA256SUMS", sums and not bad and "README.txt" in z.namelist(), str(bad[:3]))
            with tempfile.TemporaryDirectory() as d:
                good, tampered = os.path.join(d, "good.zip"), os.path.join(d, "tampered.zip")
                open(good, "wb").write(zipped)
                raw = bytearray(zipped)
                at = raw.index(b"PK\x03\x04")
                name_len = int.from_bytes(raw[at + 26:at + 28], "little")
                name_at = at + 30
                raw[name_at + name_len - 1] = ord("x") if raw[name_at + name_len - 1] != ord("x") else ord("y")
                open(tampered, "wb").write(bytes(raw))
                ok = subprocess.run([args.bin, "verify-bundle", good], capture_output=True, text=True)
                check("mandate verify-bundle accepts the bundle", ok.returncode == 0, ok.stdout[-300:] + ok.stderr[-300:])
                bad = subprocess.run([args.bin, "verify-bundle", tampered], capture_output=True, text=True)
                check("mandate verify-bundle refuses a renamed local header", bad.returncode != 0 and "local header" in bad.stdout + bad.stderr, bad.stdout[-300:])

    # 7. A request whose headers never finish is closed.
    if args.slow_seconds:
        host, port = urllib.parse.urlparse(base).hostname, urllib.parse.urlparse(base).port
        sock = socket.create_connection((host, port))
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        sock.settimeout(args.slow_seconds)
        started = time.monotonic()
        try:
            closed = sock.recv(1) == b"" or True
        except (socket.timeout, TimeoutError):
            closed = False
        except ConnectionResetError:
            closed = True
        held = time.monotonic() - started
        print(f"     a half-sent request was held for {held:.1f} s")
        check(f"a half-sent request is closed within {args.slow_seconds:.0f} s", closed, f"still open after {held:.1f} s")

    print(f"{len(FAILED)} failed" if FAILED else "all checks passed")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
