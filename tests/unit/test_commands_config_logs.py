from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest

from bot.core.commands import parse
from bot.core.errors import ConfigError
from bot.core.levels import Sensitivity
from bot.core.models import RUN_ID_ALPHABET, looks_like_run_id, new_run_id
from bot.logs import JsonFormatter, scrub
from config.loader import load_spec


def test_run_ids_are_unguessable_and_recognised() -> None:
    ids = {new_run_id() for _ in range(2000)}
    assert len(ids) == 2000
    assert all(looks_like_run_id(i) for i in ids)
    assert not looks_like_run_id("R-1")
    for position in range(2, 18):  # every letter of the alphabet at every position: 80 random bits, none fixed
        assert {i[position] for i in ids} == set(RUN_ID_ALPHABET)


@pytest.mark.parametrize(("text", "kind"), [
    ("", "usage"), ("help", "help"), ("workflows", "workflows"), ("status R-AAAAAAAAAAAAAAAA", "status"),
    ("status nope", "status"), ("status", "status"), ("audit", "audit"), ("run draft hi", "run"), ("draft a reply", "goal"), ("??", "unknown"),
])
def test_parse(text: str, kind: str) -> None:
    assert parse(text).kind == kind


def test_unknown_sensitivity_is_restricted() -> None:
    assert Sensitivity.parse("secret-ish") is Sensitivity.RESTRICTED
    assert Sensitivity.parse("internal") is Sensitivity.INTERNAL


def test_config_errors_name_file_and_key(tmp_path: Path) -> None:
    bad = tmp_path / "maple.yaml"
    bad.write_text("roles:\n  user: ['*']\nworkflows:\n  - id: draft\n    approver_roles: [nobody]\n")
    with pytest.raises(ConfigError, match=r"maple.yaml: .*unknown role 'nobody'"):
        load_spec(bad)
    bad.write_text("roles: {user: ['*']}\nreview: {allow_self_approval: perhaps}\n")
    with pytest.raises(ConfigError, match=r"maple.yaml: review.allow_self_approval: "):
        load_spec(bad)
    bad.write_text("models:\n  - {name: x, kind: warp-drive}\n")
    with pytest.raises(ConfigError, match=r"models\[0\] \(x\)\.kind"):
        load_spec(bad)
    bad.write_text("roles: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_spec(bad)


def test_log_lines_are_json_with_run_id_and_scrubbed() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("maple.test")
    logger.addHandler(handler)
    try:
        logger.warning("failed with xoxb-1234-abcd and sk-abcdefghijklmnop", extra={"run_id": "R-X"})
    finally:
        logger.removeHandler(handler)
    entry = json.loads(stream.getvalue())
    assert entry["run_id"] == "R-X" and "xoxb-1234" not in entry["msg"] and "sk-abcdefgh" not in entry["msg"]
    assert scrub("Bearer abc.def") == "[redacted]"
