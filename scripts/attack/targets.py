#!/usr/bin/env python3
"""Every parameter a signed-in member can reach, as a request log for sqlmap.

Crawls the app from /dashboard with one session and writes, in the plain
request-log format sqlmap reads with -l, one request for each:

  * link with a query string (its query parameters);
  * form, GET or POST, urlencoded or multipart (its fields, with the values
    the page filled in, blanks given plausible values, and a small valid
    file for file fields);
  * page or form action with an id in its path (the id, marked with * so
    sqlmap tests the path itself).

Requests are kept once per route and parameter names: /people/<a> and
/people/<b> are the same target. Keys already listed in SEEN (one per line)
are skipped and the new ones appended, so runs as several roles test each
target once, by the first role that can reach it. The CSRF token travels in
the X-CSRF-Token header (the app accepts it there), so sqlmap attacks the
real fields and never the token.

A form that carries nothing but a file (an import) is sent by the crawler
itself, once per crawl, to reach the page behind it (the preview).

Password fields (signing asks for the password again) get the member's
own password, from MANDATE_PASSWORD, so that the other fields of those
forms are tested past the check.

Left out: sign-out, the account and organisation pages (they could end the
session), file downloads, CSV exports and static files.

usage: targets.py --base URL --cookie C --token T --out FILE --seen FILE [--shards N] [--max N]
"""
import argparse
import datetime
import html.parser
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request

MAX_PAGES = 800
EXCLUDE = re.compile(
    r"^/(logout|account|orgs|static/|healthz|readyz)|/download$|^/evidence/files/|\.csv$|/csv$|\.svg$|/document$"
)
# Path segments that name a record: UUIDs, and the long random tokens of
# invitation, acknowledgement and public links.
ID = re.compile(r"^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[A-Za-z0-9_-]{20,})$")
PDF = "%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
TODAY = datetime.date.today().isoformat()
SAMPLES = 0
# Pages of one route can carry different forms (a draft version has an edit
# form, a signed one has none), so a few records of each route are read.
PER_ROUTE = 12


# Optional fields left as the page had them: an access window is only for
# auditors (an invitation of another role with one is refused), a sign-in
# account belongs to one person at most, and a manager chosen at random can
# close a reporting loop. A leaving date is set only
# where a form asks for it, and a year ahead: someone who has left can be
# appointed to nothing, which would refuse the appointment forms.
LEFT_EMPTY = re.compile(r"^(access_from|access_until|end_date|user_id|manager_id)$")
NEXT_YEAR = (datetime.date.today() + datetime.timedelta(days=365)).isoformat()


def sample(name, kind, action):
    """A plausible value for an empty field, so that the form's own submission
    is accepted and each attacked field reaches the code behind the form."""
    global SAMPLES
    SAMPLES += 1
    if name == "end_date" and action.endswith("/leaver"):
        return NEXT_YEAR
    if kind == "hidden" or LEFT_EMPTY.match(name):
        return ""
    if kind == "date" or re.search(r"(_on|_date|_from|_until|_to|^as_of|^before)$", name):
        return TODAY
    if kind == "number" or re.search(r"months|score|amount", name):
        return "12"
    if kind == "email" or name == "email":
        return f"probe{SAMPLES}@example.org"
    if "url" in name or name == "strategy_link":
        return "https://example.org/probe"
    if name == "currency":
        return "EUR"
    return f"Probe {SAMPLES}"


class Page(html.parser.HTMLParser):
    """Links and forms of one page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links, self.forms = [], []
        self.form = self.select = self.textarea = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        elif tag == "form":
            self.form = {
                "method": a.get("method", "get").upper(),
                "action": a.get("action", ""),
                "multipart": "multipart" in a.get("enctype", ""),
                "fields": [],
            }
            self.forms.append(self.form)
            self.radios, self.checked = {}, set()
        elif self.form is None or not a.get("name") and tag != "option":
            return
        elif tag == "input":
            kind = a.get("type", "text").lower()
            if kind == "radio":
                self.radios.setdefault(a["name"], a.get("value", ""))
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            if kind == "radio":
                self.checked.add(a["name"])
            if kind == "file":
                self.form["fields"].append((a["name"], ("file", a.get("accept", ""))))
            elif kind not in ("submit", "button", "reset", "image"):
                value = a.get("value", "on" if kind == "checkbox" else "")
                if kind == "password":
                    value = os.environ.get("MANDATE_PASSWORD", "")
                self.form["fields"].append((a["name"], value or sample(a["name"], kind, self.form["action"])))
        elif tag == "button" and a.get("value"):
            self.form["fields"].append((a["name"], a["value"]))
        elif tag == "select":
            self.select = [a["name"], None, None]
        elif tag == "option" and self.select is not None:
            value = a.get("value", "")
            if self.select[1] is None and value:
                self.select[1] = value
            if "selected" in a:
                self.select[2] = value
        elif tag == "textarea":
            self.textarea = [a["name"], ""]

    def handle_data(self, data):
        if self.textarea is not None:
            self.textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "form" and self.form is not None:
            # A choice of radio buttons with none ticked: the first, as a
            # member would have to pick one.
            for name, value in self.radios.items():
                if name not in self.checked:
                    self.form["fields"].append((name, value))
            self.form = None
        elif tag == "select" and self.select is not None and self.form is not None:
            name, first, chosen = self.select
            if chosen is None:
                # Nothing selected: the first real choice (a form asks for
                # one), unless the field is one to leave empty.
                chosen = "" if LEFT_EMPTY.match(name) else (first or "")
            self.form["fields"].append((name, chosen))
            self.select = None
        elif tag == "textarea" and self.textarea is not None and self.form is not None:
            name, text = self.textarea
            self.form["fields"].append((name, text or sample(name, "textarea", self.form["action"])))
            self.textarea = None


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args):
        return None


def route(path):
    """The route of a path: ids replaced by {id}."""
    return "/".join("{id}" if ID.match(s) else s for s in path.split("/"))


def param_names(params):
    """The parameter names of a request, ids in names (the RACI grid's cells) as {id}."""
    return ",".join(sorted({":".join(route(p) for p in k.split(":")) for k, _ in params}))


def main(base, cookie, token, out, seen_file, shards, max_targets):
    opener = urllib.request.build_opener(NoRedirect)
    host = urllib.parse.urlsplit(base).netloc
    try:
        with open(seen_file) as f:
            seen = set(f.read().split("\n"))
    except FileNotFoundError:
        seen = set()
    new, requests, submitted = [], [], set()

    def add(key, request):
        if key not in seen:
            seen.add(key)
            new.append(key)
            requests.append(request)

    def head(method, target, extra=()):
        lines = [f"{method} {target} HTTP/1.1", f"Host: {host}", f"Cookie: {cookie}", f"X-CSRF-Token: {token}"]
        return "\r\n".join(lines + list(extra)) + "\r\n\r\n"

    def mark(path):
        """The path with * after each id, for sqlmap's custom injection points."""
        return "/".join(s + "*" if ID.match(s) else s for s in path.split("/"))

    def get_target(path, params):
        names = param_names(params)
        query = urllib.parse.urlencode(params)
        add(f"GET {route(path)}?{names}", head("GET", f"{path}?{query}"))

    def path_target(method, path, body, content_type):
        if "{id}" not in route(path):
            return
        extra = [f"Content-Type: {content_type}"] if body is not None else []
        add(f"{method} {route(path)} (path)", head(method, mark(path), extra) + (body or ""))

    def post_target(form, path, csv_file):
        fields = [(k, v) for k, v in form["fields"] if k != "csrf_token"]
        names = param_names(fields)
        key = f"POST {route(path)}?{names}"
        if form["multipart"]:
            boundary = "----sqlmapTargetBoundary7MA4YWxkTrZu0gW"
            parts = []
            for k, v in fields:
                if isinstance(v, tuple):
                    csv = "csv" in v[1]
                    data, fname, ctype = (csv_file, "import.csv", "text/csv") if csv else (PDF, "evidence.pdf", "application/pdf")
                    parts.append(
                        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"; filename="{fname}"\r\n'
                        f"Content-Type: {ctype}\r\n\r\n{data}\r\n"
                    )
                else:
                    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n')
            body = "".join(parts) + f"--{boundary}--\r\n"
            ctype = f"multipart/form-data; boundary={boundary}"
        else:
            body = urllib.parse.urlencode(fields)
            ctype = "application/x-www-form-urlencoded"
        if any(not isinstance(v, tuple) for _, v in fields):
            add(key, head("POST", path, [f"Content-Type: {ctype}"]) + body)
        elif fields and key not in submitted:
            # Only a file (an import): nothing for sqlmap to attack, but the
            # page it leads to (the import's preview) has forms. Send it once
            # a crawl and read that page; a later pass sends it again, as
            # what an earlier pass applied (the people of a people import)
            # can make the same file acceptable (a training import).
            submitted.add(key)
            key += " (a file only, sent by the crawler)"
            if key not in seen:
                seen.add(key)
                new.append(key)
            location = submit(path, body, ctype)
            if location:
                queue.append(location)
        path_target("POST", path, body, ctype)

    def fetch(url):
        """The page's text, or None when it is not an HTML page."""
        request = urllib.request.Request(base + url, headers={"Cookie": cookie})
        try:
            with opener.open(request) as response:
                if "text/html" not in response.headers.get("Content-Type", ""):
                    return None
                return response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as e:
            if e.code >= 500:
                sys.exit(f"{url} answered {e.code} during the crawl")
            return None

    def submit(path, body, content_type):
        """Posts a form as the browser would; the address it redirects to."""
        headers = {"Cookie": cookie, "X-CSRF-Token": token, "Content-Type": content_type}
        request = urllib.request.Request(base + path, data=body.encode(), headers=headers, method="POST")
        try:
            opener.open(request)
        except urllib.error.HTTPError as e:
            if e.code in (302, 303):
                return urllib.parse.urlsplit(e.headers.get("Location", "")).path or None
            if e.code >= 500:
                sys.exit(f"POST {path} answered {e.code} during the crawl")
        return None

    def csv_template(links):
        """The import template a page links to (its columns and example
        row), so an import form is sent a file it accepts."""
        for href in links:
            if href.endswith("template.csv"):
                request = urllib.request.Request(base + href, headers={"Cookie": cookie})
                with opener.open(request) as response:
                    return response.read().decode("utf-8", "replace")
        return "name,email\r\nAda Example,ada@example.org\r\n"

    queue, fetched, visited, pages = ["/dashboard"], set(), {}, 0
    while queue and pages < MAX_PAGES:
        url = queue.pop(0)
        parts = urllib.parse.urlsplit(url)
        page_key = (route(parts.path), tuple(sorted(k for k, _ in urllib.parse.parse_qsl(parts.query))))
        if url in fetched or visited.get(page_key, 0) >= PER_ROUTE:
            continue
        fetched.add(url)
        visited[page_key] = visited.get(page_key, 0) + 1
        text = fetch(url)
        if text is None:
            continue
        pages += 1
        path_target("GET", parts.path, None, None)
        page = Page()
        page.feed(text)
        for href in page.links:
            link = urllib.parse.urlsplit(urllib.parse.urljoin(url, href))
            if link.netloc or link.scheme or EXCLUDE.search(link.path):
                continue
            params = urllib.parse.parse_qsl(link.query, keep_blank_values=True)
            if params:
                get_target(link.path, params)
            queue.append(link.path + ("?" + link.query if link.query else ""))
        for form in page.forms:
            action = urllib.parse.urlsplit(urllib.parse.urljoin(url, form["action"] or url))
            if action.netloc or EXCLUDE.search(action.path):
                continue
            if form["method"] == "GET":
                params = [(k, v) for k, v in form["fields"] if not isinstance(v, tuple)]
                if params:
                    get_target(action.path, params)
            else:
                post_target(form, action.path, csv_template(page.links) if form["multipart"] else None)

    if max_targets is not None:
        del requests[max_targets:], new[max_targets:]
    # sqlmap's request-log format (Burp's): each request between two lines of
    # '=', the closing line not shared with the next request.
    sep = "=" * 54 + "\n"
    for i in range(shards):
        with open(f"{out}.{i}", "w", newline="") as f:
            f.write("".join(sep + r + "\n" + sep + "\n\n" for r in requests[i::shards]))
    with open(seen_file, "a") as f:
        f.write("".join(k + "\n" for k in new))
    print(f"{pages} pages crawled, {len(requests)} new targets")


if __name__ == "__main__":
    args = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    args.add_argument("--base", required=True, help="the app's address, e.g. http://127.0.0.1:18088")
    args.add_argument("--cookie", required=True, help="the Cookie header of a signed-in session")
    args.add_argument("--token", required=True, help="that session's CSRF token")
    args.add_argument("--out", required=True, help="writes OUT.0 … OUT.N-1, one per shard")
    args.add_argument("--seen", required=True, help="keys of targets already listed (read, then appended)")
    args.add_argument("--shards", type=int, default=1, help="how many files to spread the requests over")
    args.add_argument("--max", type=int, help="keep only the first MAX new targets (short runs)")
    a = args.parse_args()
    main(a.base, a.cookie, a.token, a.out, a.seen, a.shards, a.max)
