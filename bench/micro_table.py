#!/usr/bin/env python3
"""Turns bench_micro's JSON (Google Benchmark) into a Markdown table with
each throughput target met or missed. Usage: micro_table.py RESULTS.json"""
import json
import sys

# Benchmark name -> (minimum bytes per second, target as written).
TARGETS = {
    "BM_FrameSmallLines": (1e9, ">= 1 GB/s"),
    "BM_Frame256KiBLines": (1e9, ">= 1 GB/s"),
    "BM_Decode256KiBMeta": (200e6, ">= 200 MB/s"),
}


def main(path):
    with open(path, encoding="utf-8") as file:
        results = json.load(file)["benchmarks"]
    print("## 4. Micro-benchmarks (one core)\n")
    print("| benchmark | time per operation | operations/s | throughput | target |")
    print("|---|---|---|---|---|")
    for result in results:
        name = result["name"]
        seconds = result["real_time"] * {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[result["time_unit"]]
        rate = result.get("bytes_per_second")
        throughput = f"{rate / 1e6:,.0f} MB/s" if rate else ""
        target = ""
        if name in TARGETS:
            minimum, wanted = TARGETS[name]
            target = f"{wanted}: " + ("met" if rate and rate >= minimum else "**missed**")
        print(f"| {name} | {seconds * 1e6:,.2f} µs | {1 / seconds:,.0f} | {throughput} | {target} |")
    print()


if __name__ == "__main__":
    main(sys.argv[1])
