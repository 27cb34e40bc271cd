"""The metrics Maple exports and the example Grafana dashboard agree: every series the dashboard queries is one
``integrations.metrics`` defines."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from integrations import metrics

DASHBOARD = Path(__file__).parents[2] / "docs" / "grafana-maple.json"


def exported_names() -> set[str]:
    body = metrics.generate_latest(metrics.registry()).decode()
    names = {f.name for f in text_string_to_metric_families(body)}
    return names | {n + suffix for n in names for suffix in ("_total", "_bucket", "_count", "_sum")}


def test_every_dashboard_series_is_exported() -> None:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    queried = {name for panel in panels for target in panel["targets"]
               for name in re.findall(r"\bmaple_[a-z_]+", target["expr"])}
    assert queried and queried <= exported_names(), queried - exported_names()


async def test_exposition_is_the_text_format() -> None:
    body, content_type = await metrics.exposition()
    assert content_type.startswith("text/plain") and b"# TYPE maple_acks_total counter" in body
