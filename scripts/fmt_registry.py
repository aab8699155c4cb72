#!/usr/bin/env python3
"""Rewrite data/schema_registry.json in its canonical layout: one column per line.

usage: scripts/fmt_registry.py [path]   (default data/schema_registry.json)
"""
import json, sys

path = sys.argv[1] if len(sys.argv) > 1 else "data/schema_registry.json"
reg = json.load(open(path))

def dump(o, ind):
    pad = "  " * ind
    if isinstance(o, dict):
        if not o:
            return "{}"
        items = []
        for k, v in o.items():
            if k == "columns":
                cols = ",\n".join(pad + "    " + json.dumps(c, ensure_ascii=False) for c in v)
                items.append(f'{pad}  "columns": [\n{cols}\n{pad}  ]')
            else:
                items.append(f"{pad}  {json.dumps(k)}: {dump(v, ind + 1)}")
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    return json.dumps(o, ensure_ascii=False)

open(path, "w").write(dump(reg, 0) + "\n")
