"""The crisis game library: turns, deadlines on a fake clock, injections, bad moves, replay
by `sim play`, persistence and restart, briefings filtered by `seen_by`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import FakeClock

from sim.analyses import game as g
from sim.analyses import play
from sim.analyses.moves import MoveError
from sim.errors import SimError
from sim.spec.loader import load, load_text

ROOT = Path(__file__).resolve().parent.parent
TEACHING = ROOT / "scenarios" / "teaching.yaml"
ATACMS = ROOT / "scenarios" / "atacms.yaml"

# A fixed copy of the teaching scenario plus a Red lever that slows talks, a start-only Blue
# lever, and covert strikes (only Blue learns of its deep strikes).
COVERT = (Path(__file__).resolve().parent / "game_covert.yaml").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def covert():
    return load_text(COVERT, "covert.yaml")


@pytest.fixture(scope="module")
def atacms():
    return load(ATACMS)


def _game(model, clock, teams=("blue", "red"), seed=1, replication=0, every=30.0):
    game = g.CrisisGame(model, g.Setup(teams, seed, replication, every, 60.0), clock)
    game.start()
    return game


def test_turn_resolves_when_every_team_has_submitted(covert):
    """Moves apply at the turn's day; the narrative shows the decision; turn 2 opens."""
    clock = FakeClock()
    game = _game(covert, clock)
    assert game.submit("blue", {"strikes_authorised": False, "missiles": 3}) == g.Move(
        (("strikes_authorised", False), ("missiles", 3.0)), "")
    assert game.index == 0 and game.submitted() == {"blue": True, "red": False}
    game.submit("red", {"red_mobilised": True}, "talks_succeed")
    # Talks succeeded at day 0: the run ended at once, with the settlement.
    assert game.over and game.status == "over"
    rec = game.record()
    assert rec.terminal == "talks_succeed" and rec.end_day == 0.0
    assert rec.final_state == (0.0, 3.0)  # no strike; 3 missiles from the day-0 restart
    assert "Talks succeed; a settlement is signed." in "\n".join(game.narrative())
    assert game.turns[0].moves == (("blue", g.Move((("strikes_authorised", False),
                                                    ("missiles", 3.0)), "")),
                                   ("red", g.Move((("red_mobilised", True),), "talks_succeed")))


def test_deadline_on_a_fake_clock_gives_the_default_policy(covert):
    """After the deadline a submission is refused and changes nothing; the next tick
    resolves the turn with the default policy for the team that did not submit."""
    clock = FakeClock()
    game = _game(covert, clock)
    game.submit("blue", {"strikes_authorised": False})
    clock.now += 59.0
    assert game.remaining() == pytest.approx(1.0) and not game.tick()
    clock.now += 2.0
    before = json.dumps(game.state())
    assert game.tick() and game.index == 1
    assert game.turns[0].moves == (("blue", g.Move((("strikes_authorised", False),), "")),
                                   ("red", None))
    brief = game.briefing("red")
    assert brief.missed and not game.briefing("blue").missed
    assert game.remaining() == pytest.approx(60.0)
    # A late submission on the next turn, once its deadline passed: resolved, refused.
    clock.now += 61.0
    with pytest.raises(g.GameError) as err:
        game.submit("red", {"red_mobilised": True}, turn=1)
    assert str(err.value) == ("turn 2 is over (its deadline passed; the default policy played "
                              "Red where it had not moved); read the briefing of turn 3")
    assert game.index == 2 and game.turns[1].moves == (("blue", None), ("red", None))
    assert before != json.dumps(game.state())


def test_pause_extend_resume_and_end_turn(covert):
    """Paused: the clock stops and submissions wait; extend adds time; end_turn resolves."""
    clock = FakeClock()
    game = _game(covert, clock)
    clock.now += 20.0
    game.pause()
    assert game.status == "paused"
    clock.now += 1000.0
    assert not game.tick() and game.remaining() == pytest.approx(40.0)
    with pytest.raises(g.GameError, match="cannot submit moves: the game is paused"):
        game.submit("blue", {"strikes_authorised": False})
    assert game.pending == {}
    game.extend(30.0)
    game.resume()
    assert game.remaining() == pytest.approx(70.0)
    game.extend(10.0)
    assert game.remaining() == pytest.approx(80.0)
    with pytest.raises(g.GameError, match="cannot resume: the game is running"):
        game.resume()
    game.end_turn()
    assert game.index == 1 and game.turns[0].moves == (("blue", None), ("red", None))


def test_injections_apply_at_the_end_of_the_turn_with_their_note(covert):
    """An injected action happens at the turn's day with its note before it in the
    narrative; a lever injection changes the lever; both go into the exported moves."""
    clock = FakeClock()
    game = _game(covert, clock)
    game.inject("Blue's hawks win the cabinet vote", "deep_strike")
    game.end_turn()
    game.inject("The UN brokers a back channel", levers={"red_mobilised": True})
    game.end_turn()
    lines = game.narrative()
    first = lines.index("2025-01-01  (day   0.0)  Facilitator: Blue's hawks win the cabinet "
                        "vote")
    assert lines[first + 1] == ("2025-01-01  (day   0.0)  Blue strikes deep inside Red's "
                                "territory (strike 1).")
    assert ("2025-01-31  (day  30.0)  Facilitator: The UN brokers a back channel (sets "
            "red_mobilised=true)") in lines
    assert game.board.rep.values()["red_mobilised"] is True
    text = g.moves_yaml(game)
    assert ('- {day: 0, by: facilitator, inject: deep_strike, note: "Blue\'s hawks win the '
            'cabinet vote"}') in text
    assert ('- {day: 30, by: facilitator, set: {red_mobilised: true}, note: "The UN brokers '
            'a back channel"}') in text


def test_bad_requests_get_clear_answers_and_change_nothing(covert):
    """Each refused request names the problem and leaves the saved state unchanged."""
    clock = FakeClock()
    game = _game(covert, clock)
    game.submit("red", {}, "")
    cases = [
        (lambda: game.submit("blue", {"red_mobilised": True}), MoveError,
         "lever 'red_mobilised' belongs to Red (red), not to Blue; you can set: "
         "strikes_authorised, missiles"),
        (lambda: game.submit("blue", {}, "red_escalates"), MoveError,
         "action 'red_escalates' is not open to Blue (it is Red's); open: deep_strike"),
        (lambda: game.submit("red", {"red_mobilised": True}), g.GameError,
         "Red has already submitted its moves for turn 1; a move cannot be changed once "
         "submitted"),
        (lambda: game.submit("red", {}, sender="blue"), g.GameError,
         "you are in team Blue; you cannot move for Red"),
        (lambda: game.submit("green", {}), g.GameError, "no team plays 'green'; teams: blue, "
         "red"),
        (lambda: game.inject("Red nukes", "red_nukes"), MoveError,
         "unknown action 'red_nukes'; the facilitator can take: deep_strike, red_escalates, "
         "talks_succeed"),
        (lambda: game.inject("", "deep_strike"), MoveError,
         "an injection needs a one-line note for the narrative"),
        (lambda: game.inject("x" * 201, "deep_strike"), MoveError,
         "the note is 201 characters; at most 200 (one line)"),
        (lambda: game.inject("nothing"), g.GameError,
         "an injection needs an action or a lever change"),
        (lambda: game.inject("more", levers={"missiles": 99}), MoveError,
         "lever 'missiles' must be in [0, 20] (got 99)"),
    ]
    before = json.dumps(game.state())
    for call, kind, message in cases:
        with pytest.raises(kind) as err:
            call()
        assert str(err.value) == message
        assert json.dumps(game.state()) == before
    game.submit("blue", {})
    with pytest.raises(MoveError, match="lever 'missiles' only sets the starting state"):
        game.submit("blue", {"missiles": 4})


def test_setup_is_checked(covert):
    """Unknown actors, duplicate teams, turn lengths out of range: one message each."""
    cases = [
        (g.Setup(("blue", "purple")), "unknown actor 'purple'; actors: blue, red"),
        (g.Setup(("blue", "blue")), "each actor can be played by one team only"),
        (g.Setup(()), "a game needs at least one team (an actor played by people)"),
        (g.Setup(("blue",), every=0.5), "a turn must cover at least 1 simulated day (got 0.5)"),
        (g.Setup(("blue",), turn_seconds=5), "a turn lasts 10 seconds to 7 days in real time "
         "(got 5 seconds)"),
    ]
    for setup, message in cases:
        with pytest.raises(g.GameError) as err:
            g.CrisisGame(covert, setup)
        assert str(err.value) == message


def _finish(game, clock, moves):
    """Play to the end: ``moves[turn][team]`` = (levers, action) or absent."""
    while not game.over:
        for team, (levers, action) in moves.get(game.index, {}).items():
            if not game.over and not game.pending.get(team):
                game.submit(team, levers, action)
        if not game.over:
            clock.now += 61.0
            game.tick()


MOVES = {0: {"us": ({"atacms_authorised": False}, ""), "russia": ({}, "nuclear_signal")},
         1: {"us": ({"us_aid_bn_per_year": 40}, "")},
         2: {"russia": ({}, "stand_down_to_conventional"), "us": ({"atacms_authorised": True},
                                                                  "")}}


def test_exported_moves_replay_exactly_in_sim_play(atacms, tmp_path):
    """A played game exports a moves file; `sim play --moves` with it (same seed,
    replication and turn length) gives the very same replication, event for event."""
    clock = FakeClock()
    game = _game(atacms, clock, teams=("us", "russia", "north_korea"), seed=11, replication=3)
    game.inject("A drone hits a Polish village", "stray_strike_on_nato")
    _finish(game, clock, MOVES)
    rec = game.record()
    path = tmp_path / "game-moves.yaml"
    path.write_text(g.moves_yaml(game, str(path)), encoding="utf-8")
    assert g.replay_actor(atacms, game.setup) == "us"
    replayed = play.Game(atacms, "us", 11, 3, 30)
    script = play.load_moves(path, replayed)
    rec2 = play.run(replayed, lambda s, _problem: script.get(s.index, {}))
    assert rec2.events == rec.events and rec2.rung_path == rec.rung_path
    assert rec2 == rec
    assert "North Korea (DPRK)" in g.CrisisGame(atacms, game.setup).name("north_korea")


def test_same_seed_and_moves_replay_the_same_game(atacms):
    """Two games with the same seed and moves are identical, whatever the real time."""
    records = []
    for step in (61.0, 5000.0):
        clock = FakeClock()
        game = _game(atacms, clock, teams=("us", "russia"), seed=4, replication=9)
        while not game.over:
            for team, (levers, action) in MOVES.get(game.index, {}).items():
                if team in game.setup.teams and not game.over:
                    game.submit(team, levers, action)
            if not game.over:
                clock.now += step
                game.tick()
        records.append((game.record(), game.narrative()))
    assert records[0] == records[1]


def test_a_game_survives_a_restart_mid_turn(atacms):
    """state() -> JSON -> restore() mid-turn (a submission, an injection and a deadline
    pending) continues exactly like the game that never stopped."""
    clock = FakeClock()
    game = _game(atacms, clock, teams=("us", "russia"), seed=8, replication=2)
    game.submit("us", {"atacms_authorised": False})
    game.submit("russia", {}, "russian_offensive_push")
    game.submit("us", {"us_aid_bn_per_year": 10})
    game.inject("Winter comes early", levers={"new_admin_stance": 0.9})
    clock.now += 30.0
    saved = json.loads(json.dumps(game.state()))
    again = g.CrisisGame.restore(atacms, saved, clock)
    assert again.state() == game.state()
    assert again.remaining() == pytest.approx(30.0)
    assert again.briefing("us") == game.briefing("us")
    for each in (game, again):
        each.submit("russia", {}, "nuclear_signal")
        clock.now += 1.0
        each.end_turn()
    assert again.narrative() == game.narrative()
    assert again.record() == game.record()
    with pytest.raises(g.GameError, match="different version of the scenario"):
        g.CrisisGame.restore(load_text(TEACHING.read_text(encoding="utf-8"), "t.yaml"), saved)


def test_briefings_show_only_what_the_actor_learns(covert):
    """Covert deep strikes (seen_by: blue) are in Blue's briefing, not in Red's; the
    facilitator's narrative has everything."""
    clock = FakeClock()
    for replication in range(40):
        game = _game(covert, clock, seed=3, replication=replication)
        game.end_turn()
        if game.over:
            continue
        strikes = [line for line in game.narrative() if "strikes deep" in line]
        if not strikes:
            continue
        blue, red = game.briefing("blue"), game.briefing("red")
        assert [line for line in blue.lines if "strikes deep" in line] == strikes
        assert not any("strikes deep" in line for line in red.lines)
        assert blue.date.isoformat() == "2025-01-31" and blue.index == 1
        assert [ls.lever.id for ls in blue.levers] == ["strikes_authorised", "missiles"]
        assert [ls.settable for ls in blue.levers] == [True, False]
        assert [a.id for a, _ in blue.decisions] == ["deep_strike"]
        assert blue.decisions[0][1] == "[toy] about one strike every ten days"
        assert [a.id for a, _ in red.decisions] == ["red_escalates", "talks_succeed"]
        return
    pytest.fail("no replication with a deep strike in the first month")


def test_seen_by_must_name_actors():
    """seen_by is checked like every other reference, with file:line."""
    bad = COVERT.replace("seen_by: blue", "seen_by: [blue, purple]")
    with pytest.raises(SimError) as err:
        load_text(bad, "bad.yaml")
    assert "'actions.deep_strike.seen_by[1]' unknown actor 'purple'" in str(err.value)


def test_moves_file_entries_by_others_are_checked(covert, tmp_path):
    """`by` entries in a moves file: unknown actor, a decision not open to the actor, an
    injection without a note, another actor's lever: file:line and the reason."""
    game = play.Game(covert, "blue", 1, 0, 30)
    cases = [
        ("- {day: 0, by: purple, set: {red_mobilised: true}}\n",
         "1: unknown actor 'purple'"),
        ("- {day: 30, by: red, inject: deep_strike}\n",
         "1: day 30: action 'deep_strike' is not open to Red (it is Blue's); open: "
         "red_escalates, talks_succeed"),
        ("- {day: 0, by: facilitator, inject: deep_strike}\n",
         "1: day 0: an injection needs a one-line note for the narrative"),
        ("- {day: 0, by: red, set: {missiles: 3}}\n",
         "1: day 0: lever 'missiles' belongs to Blue (blue), not to Red; you can set: "
         "red_mobilised"),
        ("- {day: 0, by: red, inject: talks_succeed, set: {}}\n",
         "1: each entry needs 'day' and 'set' (e.g. {day: 30, set: {lever: value}}), "
         "optionally 'by' (an actor or facilitator), or 'day', 'by' and 'inject' (an "
         "action); a 'note' may go with either"),
    ]
    for text, message in cases:
        path = tmp_path / "moves.yaml"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(MoveError) as err:
            play.load_moves(path, game)
        assert str(err.value).startswith(f"{path}:{message}")


@pytest.mark.slow
def test_sim_play_command_replays_an_exported_game(atacms, tmp_path, capsys):
    """The command line printed in the exported file replays the game: same path, and the
    transcript lists the other teams' and the facilitator's moves."""
    from sim import cli
    clock = FakeClock()
    game = _game(atacms, clock, teams=("us", "russia"), seed=6, replication=2)
    game.inject("Kyiv's allies hesitate", levers={"us_aid_bn_per_year": 10})
    game.submit("us", {"atacms_authorised": False})
    game.submit("russia", {}, "nuclear_signal")
    while not game.over:
        game.end_turn()
    moves = tmp_path / "game-moves.yaml"
    moves.write_text(g.moves_yaml(game, str(moves)), encoding="utf-8")
    command = g.replay_command(atacms, game.setup, str(moves))
    assert command == (f"python -m sim play {atacms.path} --as us --seed 6 --replication 2 "
                       f"--every 30 --moves {moves}")
    out = tmp_path / "t.md"
    args = command.split()[3:] + ["--transcript", str(out), "--runs", "100", "--workers", "1"]
    assert cli.main(args) == 0
    capsys.readouterr()
    text = out.read_text(encoding="utf-8")
    assert "- Russia takes 'nuclear_signal'" in text
    assert "- The facilitator sets us_aid_bn_per_year=10 (Kyiv's allies hesitate)" in text
    replayed = play.Game(atacms, "us", 6, 2, 30)
    script = play.load_moves(moves, replayed)
    assert play.run(replayed, lambda s, _p: script.get(s.index, {})) == game.record()
