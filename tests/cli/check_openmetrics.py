#!/usr/bin/env python3
"""Parses OpenMetrics text from stdin with prometheus_client's strict parser
and prints one sorted line per sample: NAME{LABELS} VALUE. Exits 1 with the
parser's message if the text is not valid OpenMetrics."""
import sys

from prometheus_client.openmetrics.parser import text_string_to_metric_families

try:
    lines = []
    for family in text_string_to_metric_families(sys.stdin.read()):
        if family.type != "gauge":
            raise ValueError(f"{family.name} is a {family.type}, not a gauge")
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            lines.append(f"{sample.name}{{{labels}}} {sample.value:g} [{family.documentation}]")
    print("\n".join(sorted(lines)))
except Exception as error:  # the parser raises ValueError, but any failure counts
    print(f"invalid OpenMetrics: {error}", file=sys.stderr)
    sys.exit(1)
