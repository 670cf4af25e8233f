"""plot_warning.py ROWS.json OUT.png: the share of people outside the blind
zone warned in time, against seconds after the earthquake's origin, one
curve per strategy (bench/warning-time's rows; the median over repeats).
Runs in bench/warning-time's matplotlib venv."""

import json
import statistics
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    rows = json.load(open(sys.argv[1]))
    by = {}
    for r in rows:
        by.setdefault(r["strategy"], []).append(r)
    fig, ax = plt.subplots(figsize=(8, 5))
    for strategy in ("fifo", "nearest", "edf"):
        runs = by.get(strategy)
        if not runs:
            continue
        n = min(len(r["curve"]) for r in runs)
        xs = [runs[0]["curve"][i][0] for i in range(n)]
        ys = [100.0 * statistics.median(r["curve"][i][1] for r in runs) for i in range(n)]
        share = statistics.median(r["in_time_share"] or 0 for r in runs)
        ax.step(xs, ys, where="post", label="%s (%.1f %% in time)" % (strategy, 100 * share))
    r0 = rows[0]
    ax.set_xlabel("seconds after origin (event posted %.0f s after it)" % r0["detection_s"])
    ax.set_ylabel("% of people outside the blind zone warned before their S wave")
    ax.set_title("Vrancea 1977 replayed: %d subscribers, providers' default quotas" % r0["subscribers"])
    ax.grid(True, alpha=0.3)
    ax.set_ylim(0, 100)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(sys.argv[2], dpi=110)


if __name__ == "__main__":
    main()
