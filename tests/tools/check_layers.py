#!/usr/bin/env python3
"""check_layers.py DIR: the dispatcher's files depend one way.

Every file of dispatcher/ has a layer (LAYERS below; the channels are the
bottom). A file may include headers and use functions or tables of its own
layer or lower ones only: a lower file that includes a higher one's header,
or names a symbol defined in a higher file, is a violation, printed as
file:line and the exit status is 1. Calls back up go through function
pointers the higher layer hands down, which this check cannot see and does
not need to. A file with no layer is an error too, so a new file is placed
on purpose.

--self-test first plants two violations in a copy of DIR and fails unless
both are caught, so a check that silently matches nothing cannot pass."""

import os
import re
import shutil
import sys
import tempfile

# Higher number = higher layer. main owns jobs, jobs own chunks, chunks use
# the send queue, the rate limiter and the channels; dispatcher.h is the
# shared context.
LAYERS = {
    "main.c": 4,
    "job.h": 3, "job.c": 3,
    "chunk.h": 2, "chunk.c": 2,
    "broadcast.h": 2, "broadcast.c": 2,
    "notice.h": 2, "notice.c": 2,
    "ratelimit.h": 1, "ratelimit.c": 1,
    "area.h": 1, "area.c": 1,
    "sendq.h": 1, "sendq.c": 1,
    "dispatcher.h": 0, "dlq.c": 0, "offsets.c": 0, "render.c": 0,
}
CHANNEL_LAYER = 0

COMMENT_RE = re.compile(r"/\*.*?\*/|//[^\n]*|\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*'", re.S)
INCLUDE_RE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
IDENT_RE = re.compile(r"\bqc_\w+\b")
DEF_RE = re.compile(r"^(?!static\b|typedef\b|extern\b)[A-Za-z_][\w \t\*]*?\b(qc_\w+)\s*(\(|\[\]\s*=|=)", re.M)


def strip(text):
    """Comments and string literals blanked, newlines kept (line numbers)."""
    return COMMENT_RE.sub(lambda m: "\n" * m.group(0).count("\n") if m.group(0)[0] == "/" else '""', text)


def layer_of(rel):
    if rel.startswith("channels/"):
        return CHANNEL_LAYER
    return LAYERS.get(rel)


def files(root):
    for dirpath, _, names in os.walk(root):
        for n in sorted(names):
            if n.endswith((".c", ".h")):
                p = os.path.join(dirpath, n)
                yield os.path.relpath(p, root), p


def definitions(code):
    """Names defined (not declared) at file scope: functions and tables."""
    out = set()
    for m in DEF_RE.finditer(code):
        name = m.group(1)
        if m.group(2) != "(":
            out.add(name)
            continue
        depth, i = 0, m.end() - 1
        while i < len(code):
            if code[i] == "(":
                depth += 1
            elif code[i] == ")":
                depth -= 1
                if depth == 0:
                    break
            i += 1
        rest = code[i + 1:].lstrip()
        if rest.startswith("{"):
            out.add(name)
    return out


def check(root):
    errors = []
    sources = {}
    for rel, path in files(root):
        lay = layer_of(rel)
        if lay is None:
            errors.append(f"{rel}: no layer: add it to LAYERS in {os.path.basename(__file__)}")
            continue
        with open(path, encoding="utf-8") as f:
            raw = f.read()
            sources[rel] = (lay, strip(raw), raw)
    owner = {}
    for rel, (lay, code, _) in sources.items():
        if rel.endswith(".c"):
            for name in definitions(code):
                owner[name] = (rel, lay)
    for rel, (lay, code, raw) in sources.items():
        for m in INCLUDE_RE.finditer(raw):
            inc = os.path.normpath(os.path.join(os.path.dirname(rel), m.group(1)))
            if not os.path.exists(os.path.join(root, inc)):
                inc = m.group(1)
            il = layer_of(inc)
            if il is not None and il > lay:
                line = raw.count("\n", 0, m.start()) + 1
                errors.append(f"{rel}:{line}: includes {inc} (layer {il}) from layer {lay}")
        for m in IDENT_RE.finditer(code):
            o = owner.get(m.group(0))
            if o and o[1] > lay and o[0] != rel:
                line = code.count("\n", 0, m.start()) + 1
                errors.append(f"{rel}:{line}: uses {m.group(0)} of {o[0]} (layer {o[1]}) from layer {lay}")
    return errors, len(sources), len(owner)


def self_test(root):
    with tempfile.TemporaryDirectory() as tmp:
        copy = os.path.join(tmp, "dispatcher")
        shutil.copytree(root, copy)
        with open(os.path.join(copy, "chunk.c"), "a", encoding="utf-8") as f:
            f.write('\n#include "job.h"\n')
        with open(os.path.join(copy, "ratelimit.c"), "a", encoding="utf-8") as f:
            f.write("\nstatic void planted(void *d) { qc_bcast_job(d, 0); }\n")
        errors, _, _ = check(copy)
        caught = [e for e in errors if e.startswith("chunk.c:") and "job.h" in e]
        caught += [e for e in errors if e.startswith("ratelimit.c:") and "qc_bcast_job" in e]
        if len(caught) != 2:
            print("self-test: planted violations not both caught:", errors, file=sys.stderr)
            return False
    return True


def main():
    args = [a for a in sys.argv[1:] if a != "--self-test"]
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    root = args[0]
    if "--self-test" in sys.argv and not self_test(root):
        return 1
    errors, nfiles, nsyms = check(root)
    for e in errors:
        print(e, file=sys.stderr)
    if nsyms < 20:
        print(f"only {nsyms} definitions found: the parser is broken", file=sys.stderr)
        return 1
    print(f"{nfiles} files, {nsyms} definitions, {len(errors)} violations")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
