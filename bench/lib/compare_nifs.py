"""Summarise bench/compare_nifs.sh: per round and the medians, each build's
rate as a share of wrk's in the same round, and its CPU per call."""

import json
import statistics
import sys
from pathlib import Path


def load(out, name):
    return json.loads((out / name).read_text(encoding="utf-8"))


def main():
    out, workloads = Path(sys.argv[1]), sys.argv[2:]
    for w in workloads:
        rows = []
        for wrk_file in sorted(out.glob(f"wrk-{w}-*.json")):
            r = wrk_file.stem.rsplit("-", 1)[1]
            wrk = load(out, wrk_file.name)
            before, after = load(out, f"before-{w}-{r}.json"), load(out, f"after-{w}-{r}.json")
            row = {
                "wrk": wrk["per_s"],
                "before": before["per_s"],
                "after": after["per_s"],
                "before_share": before["per_s"] / wrk["per_s"],
                "after_share": after["per_s"] / wrk["per_s"],
                "before_cpu_us": before["cpu_per_call_ms"] * 1000,
                "after_cpu_us": after["cpu_per_call_ms"] * 1000,
            }
            rows.append(row)
            print(
                f"({w}) round {r}: wrk {row['wrk']:,.0f}/s; before {row['before']:,.0f}/s "
                f"({row['before_share']:.1%}), {row['before_cpu_us']:.1f} µs CPU per call; "
                f"after {row['after']:,.0f}/s ({row['after_share']:.1%}), "
                f"{row['after_cpu_us']:.1f} µs"
            )
        if rows:
            med = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
            print(
                f"({w}) medians of {len(rows)}: wrk {med['wrk']:,.0f}/s; before "
                f"{med['before']:,.0f}/s ({med['before_share']:.1%} of wrk), "
                f"{med['before_cpu_us']:.1f} µs; after {med['after']:,.0f}/s "
                f"({med['after_share']:.1%}), {med['after_cpu_us']:.1f} µs"
            )


if __name__ == "__main__":
    main()
