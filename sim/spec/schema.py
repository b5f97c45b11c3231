"""A JSON Schema (draft 2020-12) of the scenario format, for editors that read YAML schemas.

Editors such as VS Code (with the Red Hat YAML extension), JetBrains IDEs, Neovim and Helix
(through yaml-language-server) use it to complete keys, show each key's meaning on hover
and underline unknown keys and wrong types as you type. It checks shapes only; the loader
(``sim validate``) remains the judge of everything else: names that must exist, expression
types, date order, sources. ``tests/test_schema.py`` checks that the schema accepts every
shipped scenario and allows exactly the keys the loader allows.

Pure: :func:`scenario_schema` returns a dict; the CLI writes it.
"""

from __future__ import annotations

from typing import Any

from .distributions import KINDS

SCHEMA_ID = "https://escalation-sim.invalid/scenario.schema.json"

IDENT = {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"}
TEXT = {"type": "string"}
NUMBER_EXPR = {"type": ["number", "string"],
               "description": "A number, or an expression that computes one (section 5)."}
CONDITION = {"type": ["boolean", "string"],
             "description": "true/false, or an expression such as \"rung >= war and x > 0\"."}
DATE = {"type": "string", "format": "date",
        "description": "A date written YYYY-MM-DD, without quotes."}
SOURCE = {"type": "string",
          "description": "Where the number comes from: [key] citations of scenario.sources "
                         "and/or 'Assumption: ...' with the reasoning (section 8)."}
ONE_OR_MORE_IDS = {"anyOf": [IDENT, {"type": "array", "items": IDENT, "minItems": 1}]}
WEIGHTS = {"type": "object", "propertyNames": IDENT, "additionalProperties": NUMBER_EXPR,
           "description": "Action id -> weight; one action is drawn in proportion."}


def _obj(properties: dict[str, Any], required: tuple[str, ...] = (),
         description: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "properties": properties,
                           "additionalProperties": False}
    if required:
        out["required"] = list(required)
    if description:
        out["description"] = description
    return out


def _by_id(item: dict[str, Any], description: str) -> dict[str, Any]:
    """A section that maps ids to items."""
    return {"type": "object", "propertyNames": IDENT, "additionalProperties": item,
            "description": description}


def distribution() -> dict[str, Any]:
    """One ``dist`` mapping per kind, each with exactly its arguments."""
    options = []
    for kind, spec in KINDS.items():
        props: dict[str, Any] = {"dist": {"const": kind, "description": spec.help}}
        props.update({name: {"type": "number"} for name in (*spec.required, *spec.optional)})
        props["description"] = TEXT
        props["source"] = SOURCE
        options.append(_obj(props, ("dist", *spec.required), spec.help))
    return {"oneOf": options}


def _sources() -> dict[str, Any]:
    entry = {"anyOf": [TEXT, _obj({"text": TEXT, "date": DATE}, ("text",))]}
    return {"type": "object", "propertyNames": {"type": "string"},
            "additionalProperties": entry,
            "description": "The bibliography: key -> reference (or {text, date})."}


def _sections() -> dict[str, Any]:
    rung = _obj({"id": IDENT, "name": TEXT, "description": TEXT, "framework": TEXT},
                ("id", "name"), "A rung of the escalation ladder (lowest first).")
    lever_value = {"anyOf": [{"type": "number"}, {"type": "boolean"}, IDENT]}
    lever = _obj({"value": lever_value,
                  "range": {"type": "array", "items": {"type": "number"}, "minItems": 2,
                            "maxItems": 2},
                  "options": {"type": "array", "items": IDENT, "minItems": 2,
                              "description": "A choice lever's named options; `value` is "
                                             "one of them."},
                  "unit": TEXT, "actor": IDENT, "description": TEXT, "source": SOURCE},
                 ("value",), "A decision the user can change: on/off, a number, or one "
                             "of named options.")
    state = _obj({"initial": NUMBER_EXPR, "min": {"type": "number"},
                  "max": {"type": "number"}, "description": TEXT, "source": SOURCE})
    action = _obj({"actor": IDENT, "name": TEXT, "description": TEXT, "rung": IDENT,
                   "rung_mode": {"enum": ["raise", "set"]},
                   "effects": {"type": "object", "propertyNames": IDENT,
                               "additionalProperties": NUMBER_EXPR},
                   "ends_run": {"type": "boolean"}, "narrative": TEXT,
                   "seen_by": ONE_OR_MORE_IDS}, ("actor",))
    schedule = _obj({"id": IDENT, "at": DATE, "day": {"type": "number", "minimum": 0},
                     "action": IDENT, "choose": WEIGHTS, "when": CONDITION,
                     "probability": NUMBER_EXPR, "description": TEXT, "source": SOURCE},
                    ("id",))
    process = _obj({"rate": NUMBER_EXPR, "every": {"type": "number", "minimum": 0.001},
                    "start": {"type": "number", "minimum": 0}, "when": CONDITION,
                    "action": IDENT, "choose": WEIGHTS, "description": TEXT,
                    "source": SOURCE})
    rule = _obj({"on": ONE_OR_MORE_IDS, "probability": NUMBER_EXPR,
                 "delay": {"anyOf": [{"type": "number", "minimum": 0}, distribution()]},
                 "when": CONDITION, "action": IDENT, "choose": WEIGHTS, "description": TEXT,
                 "source": SOURCE}, ("on",))
    outcome = _obj({"name": TEXT, "when": CONDITION, "action": IDENT, "description": TEXT})
    variant = _obj({"set": {"type": "object", "propertyNames": IDENT,
                            "additionalProperties": {"anyOf": [lever_value, distribution()]},
                            "description": "Lever -> value; parameter -> a number (pins it) "
                                           "or a distribution (replaces it)."},
                    "description": TEXT}, ("set",))
    return {
        "scenario": _obj({"id": IDENT, "title": TEXT, "start": DATE,
                          "horizon_days": {"type": "integer", "minimum": 1,
                                           "maximum": 36500},
                          "description": TEXT, "sources": _sources(),
                          "seed": {"type": "integer", "minimum": 0},
                          "information_cutoff": DATE},
                         ("id", "title", "start", "horizon_days"),
                         "What the scenario is, when it starts and how long a run lasts."),
        "ladder": _obj({"rungs": {"type": "array", "items": rung, "minItems": 2},
                        "initial": IDENT}, ("rungs",), "The escalation ladder."),
        "actors": _by_id(_obj({"name": TEXT, "description": TEXT}, ("name",)),
                         "The parties: id -> {name}."),
        "levers": _by_id(lever, "Policy levers: id -> {value, ...}."),
        "parameters": _by_id(distribution(), "Uncertain quantities, drawn afresh in "
                                             "every run: id -> a distribution."),
        "state": _by_id(state, "Variables that change during a run."),
        "actions": _by_id(action, "What actors can do: id -> {actor, ...}."),
        "schedule": {"type": "array", "items": schedule,
                     "description": "Things that happen on a date or day."},
        "processes": _by_id(process, "Recurring behaviour: a rate or a cadence."),
        "rules": _by_id(rule, "Reactions: on an action, maybe (probability), after a delay."),
        "outcomes": _by_id(outcome, "Named events to count: id -> {when or action}."),
        "variants": _by_id(variant, "Named what-ifs: id -> {set: {lever: value}}."),
    }


REQUIRED = ("scenario", "ladder", "actors", "actions")


def scenario_schema() -> dict[str, Any]:
    """The JSON Schema of a scenario file."""
    schema = _obj(_sections(), REQUIRED, "An escalation-risk scenario for "
                                         "python -m sim (see docs/scenario-format.md).")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID,
            "title": "Escalation-risk scenario", **schema}
