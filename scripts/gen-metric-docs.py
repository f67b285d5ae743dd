#!/usr/bin/env python3
"""Regenerates the per-metric option tables of docs/metrics.md from the catalog.

The tables are the part of docs/metrics.md between the BEGIN/END GENERATED markers; they
come from `tally list --format json` (tally::metrics::describe_catalog), the same
description the Python signatures and the R argument lists are generated from.

    scripts/gen-metric-docs.py build/tools/tally/tally          # rewrite docs/metrics.md
    scripts/gen-metric-docs.py build/tools/tally/tally --check  # exit 1 if it is stale
"""
import json
import pathlib
import subprocess
import sys

BEGIN = "<!-- BEGIN GENERATED: scripts/gen-metric-docs.py (do not edit by hand) -->"
END = "<!-- END GENERATED -->"


def cell(value):
    return str(value).replace("|", "\\|").replace("\n", " ")


def render(catalog):
    out = [BEGIN, "", "## Options of every metric (generated from the catalog)", ""]
    out.append("Each table lists the config keys in Keras's constructor order, as `tally list --format json`")
    out.append("describes them. `required` keys have no default.")
    out.append("")
    for m in catalog["metrics"]:
        if not m["builtin"]:
            continue
        names = ", ".join(f"`{n}`" for n in m["names"])
        inputs = m["inputs"]
        ranks = ", ".join(str(r) for r in inputs["ranks"])
        out.append(f"### `{m['class_name']}`")
        out.append("")
        out.append(m["doc"])
        out.append("")
        out.append(
            f"Names: {names}. Family: {m['family']}. Direction: {m['direction']}. Result: {m['result']}. "
            f"Inputs: y_true {inputs['y_true']}, y_pred {inputs['y_pred']}, ranks {ranks}"
            + "".join(f"; requires `{a}`" for a in inputs.get("requires", []))
            + "".join(f"; accepts `{a}`" for a in inputs.get("accepts", []))
            + "."
        )
        out.append("")
        out.append("| key | type | default | rule | doc |")
        out.append("|---|---|---|---|---|")
        for o in m["options"]:
            default = "required" if o["required"] else f"`{json.dumps(o['default'])}`"
            rule = o["rule"] or ""
            if o["choices"] and not rule:
                rule = "one of " + ", ".join(o["choices"])
            out.append(f"| `{o['key']}` | {o['type']} | {cell(default)} | {cell(rule)} | {cell(o['doc'])} |")
        state = ", ".join(
            f"`{v['name']}` {v['dtype']}{v['shape']} {v['aggregation']}" for v in (m["state"] or [])
        )
        if state:
            out.append("")
            out.append(f"State ({json.dumps(m['example_config'])}): {state}.")
        out.append("")
    out.append(END)
    return "\n".join(out) + "\n"


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    tool, check = sys.argv[1], "--check" in sys.argv[2:]
    catalog = json.loads(subprocess.run([tool, "list", "--format", "json"], check=True, capture_output=True,
                                        text=True).stdout)
    doc = pathlib.Path(__file__).resolve().parent.parent / "docs" / "metrics.md"
    text = doc.read_text()
    head = text.split(BEGIN)[0].rstrip("\n") + "\n\n"
    tail = text.split(END, 1)[1] if END in text else ""
    new = head + render(catalog) + tail.lstrip("\n")
    if check:
        if new != text:
            sys.exit("docs/metrics.md differs from what the catalog generates: run scripts/gen-metric-docs.py "
                     + tool)
        print("docs/metrics.md matches the catalog")
        return
    doc.write_text(new)


if __name__ == "__main__":
    main()
