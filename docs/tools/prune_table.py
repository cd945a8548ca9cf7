#!/usr/bin/env python3
"""Prints docs/explore.md's pruning table from two `explore --format json`
reports of the same matrix: one with --no-prune, one without.

  mmn-harness explore --variant all --in-process --format json --no-prune > full.json
  mmn-harness explore --variant all --in-process --format json > pruned.json
  python3 docs/tools/prune_table.py full.json pruned.json
"""
import json
import sys

full = json.load(open(sys.argv[1]))["results"]
pruned = {(r["variant"], r["config"]): r for r in json.load(open(sys.argv[2]))["results"]}

configs = []
for r in full:
    if r["config"] not in configs:
        configs.append(r["config"])


def verdict(r):
    v = r["violation"]
    return (v["invariant"], v["replay"]) if v else None


print("| configuration | bound | variants | schedules, full | s, full | schedules, pruned | subtrees pruned | s, pruned | upstream-fix: full → pruned | same verdicts and tokens |")
print("|---|---|---|---|---|---|---|---|---|---|")
total = [0, 0.0, 0, 0, 0.0]
for c in configs:
    rows = [r for r in full if r["config"] == c]
    fs = sum(r["schedules"] for r in rows)
    ft = sum(r["seconds"] for r in rows)
    ps = sum(pruned[(r["variant"], c)]["schedules"] for r in rows)
    pp = sum(pruned[(r["variant"], c)]["pruned"] for r in rows)
    pt = sum(pruned[(r["variant"], c)]["seconds"] for r in rows)
    same = all(verdict(r) == verdict(pruned[(r["variant"], c)]) for r in rows)
    uf = [r for r in rows if r["variant"] == "upstream-fix"]
    ufc = ""
    if uf:
        u, p = uf[0], pruned[("upstream-fix", c)]
        tag = lambda x: x["violation"]["invariant"] if x["violation"] else "clean"
        ufc = f"{u['schedules']} → {p['schedules']} ({tag(u)})"
    total = [total[0] + fs, total[1] + ft, total[2] + ps, total[3] + pp, total[4] + pt]
    print(f"| {c} | {rows[0]['bound']} | {len(rows)} | {fs} | {ft:.2f} | {ps} | {pp} | {pt:.2f} | {ufc} | {'yes' if same else 'NO'} |")
print(f"| all | | | {total[0]} | {total[1]:.2f} | {total[2]} | {total[3]} | {total[4]:.2f} | | |")

# The matrix: each cell "clean (pruned / full)" or the violation (same in both).
variants = []
for r in full:
    if r["variant"] not in variants:
        variants.append(r["variant"])
fm = {(r["variant"], r["config"]): r for r in full}
print()
print("| configuration | " + " | ".join(variants) + " |")
print("|---|" + "---|" * len(variants))
for c in configs:
    cells = []
    for v in variants:
        f, p = fm[(v, c)], pruned[(v, c)]
        if p["violation"]:
            cells.append(f"{p['violation']['invariant']} ({p['violation']['preemptions']}p)")
        else:
            cells.append(f"clean ({p['schedules']} / {f['schedules']})")
    bound = f" (bound {fm[(variants[0], c)]['bound']})" if fm[(variants[0], c)]["bound"] != 2 else ""
    print(f"| {c}{bound} | " + " | ".join(cells) + " |")
