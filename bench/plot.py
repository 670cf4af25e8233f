#!/usr/bin/env python3
"""bench/plot.py DATA.json OUT.png: hand-offs over time, per system.

Called by bench/run (--plot) in a venv that has matplotlib. DATA.json is a
list of bench/run result objects with a "timeline" (the sink's
/_sink/times?bucket_ms= histogram, start_ms relative to t0). One row of
panels per (channel, subscribers, dispatchers): cumulative hand-offs, and
hand-offs per second over a 250 ms sliding window, against seconds after
t0; one line per run, one colour per system.
"""

import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

SMOOTH_MS = 250.0
COLOURS = {"quakecast": "#d62728", "bullmq": "#1f77b4",
           "kafka-record": "#2ca02c"}


def label(r):
    name = r["system"]
    if r.get("concurrency") is not None:
        name += " c=%d" % r["concurrency"]
    return name


def main(data_path, out_png):
    with open(data_path) as f:
        rows = json.load(f)
    panels = {}
    for r in rows:
        key = (r["channel"], r["subscribers"], r["dispatchers"])
        panels.setdefault(key, []).append(r)
    keys = sorted(panels)
    fig, axes = plt.subplots(len(keys), 2, figsize=(13, 4.2 * len(keys)),
                             squeeze=False)
    for row, key in enumerate(keys):
        ax, axr = axes[row]
        seen = set()
        for r in sorted(panels[key], key=lambda r: (r["system"],
                                                    r.get("run", 0))):
            tl = r["timeline"]
            if tl.get("start_ms") is None:
                continue
            b = tl["bucket_ms"]
            counts = tl["counts"]
            xs, ys, total = [0.0], [0], 0
            for i, c in enumerate(counts):
                total += c
                xs.append((tl["start_ms"] + (i + 1) * b) / 1000.0)
                ys.append(total)
            # Rate over a sliding window of about SMOOTH_MS: single buckets
            # of 5-50 ms are mostly noise of the poll loops.
            w = max(1, int(round(SMOOTH_MS / float(b))))
            rate_x, rate_y = [], []
            for i in range(len(counts)):
                lo = max(0, i - w + 1)
                rate_x.append((tl["start_ms"] + (i + 1) * b) / 1000.0)
                rate_y.append(sum(counts[lo:i + 1]) * 1000.0 /
                              ((i + 1 - lo) * b))
            name = label(r)
            colour = COLOURS.get(r["system"], None)
            kw = {"color": colour, "alpha": 0.85, "linewidth": 1.2}
            if name not in seen:
                kw["label"] = name
                seen.add(name)
            ax.plot(xs, ys, **kw)
            axr.plot(rate_x, rate_y, **dict(kw, linewidth=0.8))
        title = "%s, %s subscribers, K=%d" % (key[0], "{:,}".format(key[1]),
                                              key[2])
        ax.set_title(title + ": hand-offs so far", fontsize=10)
        ax.set_xlabel("seconds after t0 (quakecast: event POST; "
                      "peers: start of enqueueing); K = dispatchers or "
                      "peer workers", fontsize=8)
        ax.set_ylabel("hand-offs (sink ledger)")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
        axr.set_title("%s: per second (%d ms window)" % (title, SMOOTH_MS),
                      fontsize=10)
        axr.set_xlabel("seconds after t0", fontsize=8)
        axr.set_ylabel("per second")
        axr.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(out_png, dpi=110)
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.stderr.write("usage: plot.py DATA.json OUT.png\n")
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2]))
