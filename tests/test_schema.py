"""`sim schema` and `sim new`: the JSON Schema matches the loader, the template is valid."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from sim.cli import main
from sim.errors import ScenarioError
from sim.spec.distributions import KINDS
from sim.spec.loader import load_text
from sim.spec.schema import scenario_schema
from sim.spec.template import new_scenario
from sim.spec.yamlsrc import parse_text

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted((ROOT / "scenarios").glob("*.yaml"))
TEACHING = (ROOT / "scenarios" / "teaching.yaml").read_text(encoding="utf-8")


def as_json(value: Any) -> Any:
    """YAML as an editor's schema checker sees it: dates are strings (and `on:` is a key,
    as in YAML 1.2; sim.spec.yamlsrc reads it so too)."""
    if isinstance(value, dict):
        return {str(k): as_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_json(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def validator() -> jsonschema.Draft202012Validator:
    schema = scenario_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize("path", SHIPPED + [None], ids=[p.name for p in SHIPPED] + ["new"])
def test_schema_accepts_every_shipped_scenario_and_the_template(path):
    text = path.read_text(encoding="utf-8") if path else new_scenario("cuba1962")
    src, problems = parse_text(text, "x.yaml")
    assert src is not None and not problems
    errors = [e.message for e in validator().iter_errors(as_json(src.data))]
    assert errors == []


def test_schema_flags_what_an_editor_should_underline():
    src, _ = parse_text(TEACHING, "teaching.yaml")
    data = as_json(src.data)
    data["levers"]["strikes_authorised"]["valeu"] = 1
    data["scenario"]["horizon_days"] = "ninety"
    data["parameters"]["red_resolve"]["dist"] = "uniformm"
    messages = " ".join(e.message for e in validator().iter_errors(data))
    assert "'valeu' was unexpected" in messages
    assert "'ninety' is not of type 'integer'" in messages
    assert len(list(validator().iter_errors(data))) >= 3


def loader_keys(text: str, anchor: str, indent: str) -> set[str]:
    """The keys the loader accepts at the mapping that follows ``anchor``: add an unknown
    key and read its "expected one of: ..." message."""
    assert anchor in text, anchor
    broken = text.replace(anchor, f"{anchor}\n{indent}zz_unknown: 1", 1)
    with pytest.raises(ScenarioError) as info:
        load_text(broken)
    message = next(str(p) for p in info.value.problems if "zz_unknown" in str(p))
    return set(re.search(r"expected one of: (.*)$", message).group(1).split(", "))


SECTIONS = [  # (anchor line in teaching.yaml, indent, path in the schema)
    ("\nscenario:", "  ", ("scenario",)),
    ("\nladder:", "  ", ("ladder",)),
    ("    - id: settlement", "      ", ("ladder", "rungs", "items")),
    ("  blue: {name: Blue}\n  red: {name: Red}\n", "", ()),  # top level, after actors
    ("  strikes_authorised:", "    ", ("levers", "additionalProperties")),
    ("  strikes:", "    ", ("state", "additionalProperties")),
    ("  deep_strike:", "    ", ("actions", "additionalProperties")),
    ("  strike_campaign:", "    ", ("processes", "additionalProperties")),
    ("  red_answers:", "    ", ("rules", "additionalProperties")),
    ("  war:", "    ", ("outcomes", "additionalProperties")),
    ("  no_strikes:", "    ", ("variants", "additionalProperties")),
]


def schema_keys(path: tuple[str, ...]) -> set[str]:
    node: Any = scenario_schema()
    for step in path:
        node = node["properties"][step] if step in node.get("properties", {}) else node[step]
    return set(node["properties"])


@pytest.mark.parametrize("anchor,indent,path", SECTIONS, ids=[s[2][0] if s[2] else "top"
                                                             for s in SECTIONS])
def test_schema_allows_exactly_the_keys_the_loader_allows(anchor, indent, path):
    if not path:  # top level: the sections
        text = TEACHING + "\nzz_unknown: 1\n"
        with pytest.raises(ScenarioError) as info:
            load_text(text)
        message = next(str(p) for p in info.value.problems if "zz_unknown" in str(p))
        allowed = set(re.search(r"expected one of: (.*)$", message).group(1).split(", "))
    else:
        allowed = loader_keys(TEACHING, anchor, indent)
    assert schema_keys(path) == allowed


def test_schema_knows_every_distribution_and_its_arguments():
    options = scenario_schema()["properties"]["parameters"]["additionalProperties"]["oneOf"]
    kinds = {o["properties"]["dist"]["const"]: o for o in options}
    assert set(kinds) == set(KINDS)
    for kind, spec in KINDS.items():
        assert set(kinds[kind]["required"]) == {"dist", *spec.required}


def test_new_writes_a_valid_scenario_that_loads_without_warnings(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["new", "cuba1962"]) == 0
    assert "Next: python -m sim validate cuba1962.yaml" in capsys.readouterr().out
    text = (tmp_path / "cuba1962.yaml").read_text()
    assert text.startswith("# yaml-language-server: $schema=./scenario.schema.json")
    model = load_text(text)
    assert model.id == "cuba1962" and model.levers and model.variants
    assert json.loads((tmp_path / "scenario.schema.json").read_text()) == scenario_schema()
    assert main(["validate", "cuba1962.yaml"]) == 0
    assert "[warning]" not in capsys.readouterr().err
    assert main(["new", "cuba1962"]) == 2  # never overwrites without --force
    assert "already exists" in capsys.readouterr().err


def test_schema_command_prints_or_writes(tmp_path, capsys):
    assert main(["schema"]) == 0
    assert json.loads(capsys.readouterr().out)["title"] == "Escalation-risk scenario"
    assert main(["schema", "--out", str(tmp_path / "s.json")]) == 0
    assert json.loads((tmp_path / "s.json").read_text()) == scenario_schema()
