"""A small, valid, commented scenario to start from (``sim new NAME``).

Pure: :func:`new_scenario` returns the text; the CLI writes it. ``tests/test_schema.py``
loads what it returns with no problem and no warning.
"""

from __future__ import annotations

import datetime as dt
import re

from ..errors import UsageError

SCHEMA_FILE = "scenario.schema.json"

TEMPLATE = """\
# yaml-language-server: $schema=./{schema}
# A scenario for the escalation-risk simulator. Check it with
#     python -m sim validate {file}
# and run it with
#     python -m sim run {file}
# Every key is explained in docs/scenario-format.md. Every number needs a `source`: a
# [key] citation of scenario.sources, or "Assumption: ..." with your reasoning.
# The line above lets editors that read YAML schemas complete keys and flag mistakes
# (write the schema with: python -m sim schema --out {schema}).

scenario:
  id: {id}
  title: "{title}"
  start: {start}          # a date, written without quotes
  horizon_days: 180         # how long one run lasts
  description: >
    One paragraph: the crisis, the question, what the scenario leaves out.
  sources:
    note: "Replace with the references your numbers rest on (author, title, date)."

ladder:                     # the escalation ladder, lowest rung first
  initial: crisis           # where every run starts
  rungs:
    - id: settled
      name: Crisis settled
    - id: crisis
      name: Political crisis
    - id: clashes
      name: Armed clashes
    - id: war
      name: War

actors:
  a: {{name: Side A}}
  b: {{name: Side B}}

levers:                     # decisions a user can change (--set, variants, play)
  a_deploys:
    value: false            # true/false makes an on/off lever
    actor: a
    description: Side A deploys forces to the border.
    source: "Assumption: the question this scenario asks."

parameters:                 # uncertain numbers, drawn afresh in every run
  b_resolve:
    dist: uniform
    low: 0.1
    high: 0.4
    description: Chance that B answers a clash by going to war.
    source: "[note] Assumption: replace with your reasoning."

state:                      # what changes during a run
  incidents:
    initial: 0
    description: Border clashes so far.

actions:                    # what actors can do; `rung` moves the crisis up the ladder
  clash:
    actor: a
    rung: clashes
    effects: {{incidents: incidents + 1}}
    narrative: "{{actor}} and B's forces clash at the border (clash {{incidents}})."
  go_to_war:
    actor: b
    rung: war
    ends_run: true
    narrative: "{{actor}} goes to war."
  settle:
    actor: b
    rung: settled
    rung_mode: set          # `set` moves the crisis down to exactly this rung
    ends_run: true
    narrative: "A settlement is reached."

processes:                  # recurring behaviour: `rate` is events per day
  border_clashes:
    rate: "0.05 if a_deploys else 0.01"
    when: "rung >= crisis"
    action: clash
    source: "Assumption: about one clash every 20 days with forces deployed, 100 without."
  diplomacy:
    rate: 0.001
    action: settle
    source: "Assumption: about one chance in six of a settlement within 180 days."

rules:                      # reactions: on an action, with a probability, after a delay
  b_retaliates:
    on: clash
    probability: "min(1, b_resolve * (1 + 0.1 * incidents))"
    delay: {{dist: exponential, mean: 5}}
    action: go_to_war
    source: "Assumption: resolve grows with each clash absorbed."

outcomes:                   # named events to count
  went_to_war:
    name: The crisis ended in war
    when: "peak >= war"

variants:                   # named what-ifs, compared with: python -m sim compare {file}
  deployed:
    description: Side A deploys.
    set: {{a_deploys: true}}
"""


def scenario_id(name: str) -> str:
    """The scenario id for a file name: its stem, as an identifier."""
    stem = re.sub(r"\.ya?ml$", "", name.rsplit("/", 1)[-1])
    ident = re.sub(r"[^A-Za-z0-9_]", "_", stem)
    if not ident or not re.match(r"[A-Za-z_]", ident):
        raise UsageError(f"cannot make a scenario id from {name!r}: start the name with a "
                         "letter, e.g. 'cuba1962'")
    return ident


def new_scenario(name: str, start: dt.date | None = None) -> str:
    """The template filled in for ``name`` (a file name or a bare id)."""
    sid = scenario_id(name)
    file = name if name.endswith((".yaml", ".yml")) else f"{name}.yaml"
    title = sid.replace("_", " ").capitalize()
    return TEMPLATE.format(id=sid, title=title, file=file, schema=SCHEMA_FILE,
                           start=(start or dt.date(2025, 1, 1)).isoformat())
