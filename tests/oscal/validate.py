#!/usr/bin/env python3
"""Validate OSCAL JSON documents against the vendored NIST OSCAL schema.

Usage:
    python3 tests/oscal/validate.py FILE.json [FILE.json ...]

Each file is checked against tests/oscal/oscal_complete_schema.json (NIST
OSCAL 1.2.3 "complete" JSON Schema, see README.md beside this file). The
document's root key (catalog, assessment-results, component-definition, ...)
picks the model, so errors point at the exact place instead of the schema's
top-level "oneOf". Every error is printed as

    FILE: /json/pointer/to/value: message   [schema: /path/in/schema]

Exit status: 0 when every file is valid, 1 when any file is invalid or cannot
be read as JSON, 2 on a usage or setup problem (no jsonschema_rs, schema file
changed).

Needs the PyPI package jsonschema-rs (tested with 0.60.3). Python's own
`jsonschema` package cannot be used: the schema's token pattern uses \\p{L}
and \\p{N}, which Python's `re` rejects ("bad escape \\p").

This checks the JSON Schema layer only. The OSCAL Metaschema constraints
(allowed values of OSCAL-namespace prop names, uniqueness, that "#uuid"
references resolve) are not JSON Schema and are not checked here.
"""

import hashlib
import json
import os
import sys

SCHEMA_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                           "oscal_complete_schema.json")
# SHA-256 of the vendored schema, as recorded in README.md.
SCHEMA_SHA256 = "384324105c7a817af0f65b120a963146caa0e0d55d969cf0daf60e063b87a206"
MAX_MESSAGE = 400


def pointer(path):
    """JSON Pointer (RFC 6901) for a list of keys and indexes."""
    if not path:
        return "/"
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def short(text):
    text = " ".join(str(text).split())
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE] + " ..."


def load_schema():
    try:
        with open(SCHEMA_FILE, "rb") as f:
            raw = f.read()
    except OSError as e:
        print(f"validate.py: cannot read the schema {SCHEMA_FILE}: {e}", file=sys.stderr)
        sys.exit(2)
    digest = hashlib.sha256(raw).hexdigest()
    if digest != SCHEMA_SHA256:
        print(f"validate.py: {SCHEMA_FILE} has SHA-256 {digest}, expected "
              f"{SCHEMA_SHA256}; it is not the vendored file (see README.md)",
              file=sys.stderr)
        sys.exit(2)
    return json.loads(raw)


class Validators:
    """One compiled validator per root model, built on first use."""

    def __init__(self, schema, jsonschema_rs):
        self.schema = schema
        self.rs = jsonschema_rs
        self.cache = {}
        # root key -> the branch of the top-level oneOf that accepts it
        self.branches = {}
        for branch in schema.get("oneOf", []):
            for key in branch.get("required", []):
                self.branches[key] = branch

    def compile(self, schema):
        return self.rs.validator_for(schema, validate_formats=True, offline=True)

    def for_document(self, doc):
        """(model name, validator), or (None, None) when the root object does
        not hold exactly one known model."""
        keys = [k for k in doc if k != "$schema"] if isinstance(doc, dict) else []
        if len(keys) != 1 or keys[0] not in self.branches:
            return None, None
        model = keys[0]
        if model not in self.cache:
            # The complete schema with its top-level oneOf narrowed to this
            # model's branch: same definitions, precise error locations.
            schema = {k: v for k, v in self.schema.items() if k != "oneOf"}
            schema.update(self.branches[model])
            self.cache[model] = self.compile(schema)
        return model, self.cache[model]


def error_lines(err, indent=""):
    """Lines for one error; for anyOf/oneOf, the errors of each branch."""
    context = getattr(err.kind, "context", None)
    message = err.message
    if context:
        # The message would repeat the whole instance; the branches say more.
        message = (f"matches none of the {len(context)} alternatives "
                   f"({err.kind.name}); the errors of each:")
    lines = [f"{indent}{pointer(list(err.instance_path))}: {short(message)}"
             f"   [schema: {pointer(list(err.schema_path))}]"]
    if context and len(indent) < 12:
        for i, branch in enumerate(context):
            for sub in branch:
                lines += error_lines(sub, indent + f"  [branch {i}] ")
    return lines


def validate_file(path, validators):
    """Print the file's errors; return how many there were."""
    try:
        with open(path, "r", encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        print(f"{path}: cannot read JSON: {e}")
        return 1
    model, validator = validators.for_document(doc)
    if model is None:
        print(f"{path}: /: the root object must have exactly one OSCAL model key "
              f"({', '.join(sorted(validators.branches))}) besides \"$schema\"")
        return 1
    errors = list(validator.iter_errors(doc))
    for err in errors:
        for line in error_lines(err):
            print(f"{path}: {line}")
    if not errors:
        print(f"{path}: valid OSCAL {model}")
    return len(errors)


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    try:
        import jsonschema_rs
    except ImportError:
        print("validate.py: the PyPI package jsonschema-rs is needed: "
              "python3 -m pip install jsonschema-rs==0.60.3", file=sys.stderr)
        return 2
    validators = Validators(load_schema(), jsonschema_rs)
    failed = 0
    for path in argv[1:]:
        if validate_file(path, validators):
            failed += 1
    total = len(argv) - 1
    print(f"oscal: {total - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
