"""Play mode: scripted games are replayable, moves take effect, bad moves are refused."""

from __future__ import annotations

import builtins
from pathlib import Path

import pytest

from sim import cli
from sim.analyses import play
from sim.errors import UsageError
from sim.spec.loader import load, load_text

ROOT = Path(__file__).resolve().parent.parent
TEACHING = ROOT / "scenarios" / "teaching.yaml"

# The teaching scenario plus a ranged lever that only sets the starting state (Blue's
# missiles). Red's lever is the scenario's own (red_mobilises).
TWO_SIDED = TEACHING.read_text(encoding="utf-8").replace(
    "\nparameters:", """
  missiles:
    value: 10
    range: [0, 20]
    actor: blue
    source: "[toy]"

parameters:""").replace(
    "\nactions:", """
  missiles_left:
    initial: missiles

actions:""")
assert "missiles_left" in TWO_SIDED and "red_mobilises" in TWO_SIDED


@pytest.fixture(scope="module")
def teaching():
    """The teaching scenario (strikes_authorised is Blue's lever)."""
    return load(TEACHING)


@pytest.fixture(scope="module")
def two_sided():
    """Teaching plus a start-only Blue lever and a Red lever."""
    return load_text(TWO_SIDED, "two_sided.yaml")


def _moves(tmp_path: Path, text: str, name: str = "moves.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _scripted(model, moves_path, seed=3, replication=4):
    game = play.Game(model, "blue", seed, replication, 30)
    script = play.load_moves(moves_path, game)
    play.run(game, lambda s, problem: script.get(s.index, {}))
    return game


def test_scripted_play_is_deterministic(teaching, tmp_path):
    """The same moves file, seed and replication give the same transcript twice."""
    path = _moves(tmp_path, "- {day: 30, set: {strikes_authorised: false}}\n")
    texts = []
    for _ in range(2):
        game = _scripted(teaching, path)
        rec = game.record()
        standing = play.standing(teaching, rec.peak, 200, 3, workers=1)
        default = play.same_dice(teaching, 3, 4)
        texts.append(play.transcript(game, "cmd", True, teaching, standing, default))
    assert texts[0] == texts[1]
    assert "- {day: 30, set: {strikes_authorised: false}}" in texts[0]
    assert "With the default policy and the same dice (seed 3, replication 4)" in texts[0]


def test_no_moves_replays_the_default_policy(teaching, tmp_path):
    """Keeping every lever reproduces Plan.run on the same dice exactly."""
    for rep in range(10):
        game = play.Game(teaching, "blue", 7, rep, 30)
        rec = play.run(game, lambda s, problem: {})
        default = play.same_dice(teaching, 7, rep)
        assert (rec.peak, rec.terminal, rec.end_day, rec.action_counts) == (
            default.peak, default.terminal, default.end_day, default.action_counts)


def test_withholding_strikes_at_day_0_gives_no_deep_strikes(teaching):
    """strikes_authorised false at day 0 means zero deep_strike actions in any replication."""
    strike = teaching.action_index("deep_strike")
    for rep in range(20):
        game = play.Game(teaching, "blue", 1, rep, 30)
        rec = play.run(game, lambda s, problem: {"strikes_authorised": "false"}
                       if s.index == 0 else {})
        assert rec.action_counts[strike] == 0
        assert rec.peak == teaching.initial_rung


def test_withholding_strikes_mid_run_stops_them_from_that_day(teaching):
    """Withdrawing authorisation at day 30 leaves no deep strike after day 30."""
    strike = teaching.action_index("deep_strike")
    for rep in range(20):
        game = play.Game(teaching, "blue", 1, rep, 30)
        rec = play.run(game, lambda s, problem: {"strikes_authorised": False}
                       if s.index == 1 else {})
        assert all(e.day < 30 for e in rec.events if e.action == strike)


def test_day_0_settings_shape_the_starting_state(two_sided):
    """A start-only lever set at day 0 changes the initial state (the run restarts)."""
    game = play.Game(two_sided, "blue", 1, 0, 30)
    assert game.start_only == {"missiles"}
    game.play({"missiles": 3})
    assert game.rep.values()["missiles_left"] == 3


def test_bad_moves_are_rejected_with_clear_messages(two_sided):
    """Unknown lever, another actor's lever, out of range, start-only after day 0."""
    game = play.Game(two_sided, "blue", 1, 0, 30)
    cases = [
        ({"strike_authorised": True}, "unknown lever 'strike_authorised' (did you mean "
         "'strikes_authorised'?); Blue can set: strikes_authorised, blue_offers_talks, missiles"),
        ({"red_mobilises": True}, "lever 'red_mobilises' belongs to Red (red), not to Blue; "
         "you can set: strikes_authorised, blue_offers_talks, missiles"),
        ({"missiles": 50}, "lever 'missiles' must be in [0, 20] (got 50)"),
        ({"strikes_authorised": "maybe"}, "lever 'strikes_authorised' is on/off: give true "
         "or false (got 'maybe')"),
    ]
    for moves, message in cases:
        with pytest.raises(play.MoveError) as err:
            game.check(moves)
        assert str(err.value) == message
    game.play({})
    with pytest.raises(play.MoveError) as err:
        game.check({"missiles": 4})
    assert str(err.value) == ("lever 'missiles' only sets the starting state, so it can be "
                              "changed only at the first decision (day 0)")


def test_interactive_bad_move_is_asked_again(two_sided):
    """run() hands the problem back to decide() and re-asks instead of failing."""
    game = play.Game(two_sided, "blue", 1, 0, 30)
    problems = []

    def decide(situation, problem):
        problems.append(problem)
        if situation.index == 0 and problem is None:
            return play.parse_line("missiles = 99")
        return {}
    play.run(game, decide)
    assert problems[:2] == [None, "lever 'missiles' must be in [0, 20] (got 99)"]
    assert game.over and len(game.turns) == 3


def test_moves_file_errors_name_file_line_and_day(two_sided, tmp_path):
    """A bad moves file fails before the game with file:line, day and the reason."""
    game = play.Game(two_sided, "blue", 1, 0, 30)
    cases = [
        ("- {day: 0, set: {strikes_authorised: false}}\n- {day: 30, set: {missiles: 50}}\n",
         "2: day 30: lever 'missiles' must be in [0, 20] (got 50)"),
        ("- {day: 45, set: {missiles: 5}}\n",
         "1: day 45 is not a decision day (decisions every 30 days: 0, 30, 60)"),
        ("0: {red_mobilises: true}\n", "1: day 0: lever 'red_mobilises' belongs to Red (red), "
         "not to Blue; you can set: strikes_authorised, blue_offers_talks, missiles"),
        ("7: {missiles: 5}\n", "1: decision '7' does not exist (decisions are numbered 0 to 2)"),
    ]
    for text, message in cases:
        path = _moves(tmp_path, text)
        with pytest.raises(play.MoveError) as err:
            play.load_moves(path, game)
        assert str(err.value) == f"{path}:{message}"


def test_unknown_actor_and_actor_without_levers(teaching):
    """--as must name an actor that controls at least one lever."""
    with pytest.raises(UsageError, match=r"unknown actor 'bleu' \(did you mean 'blue'\?\)"):
        play.Game(teaching, "bleu")
    no_red = load_text(TEACHING.read_text(encoding="utf-8").replace(
        "    value: false\n    actor: red\n", "    value: false\n    actor: blue\n"))
    with pytest.raises(UsageError, match="Red \\(red\\) controls no levers"):
        play.Game(no_red, "red")


def test_teaching_lets_either_side_play_with_on_off_levers(teaching):
    """Both actors of the teaching scenario have levers; more than one is on/off."""
    owners = {lv.actor for lv in teaching.levers}
    assert owners == {"blue", "red"}
    assert sum(lv.is_bool for lv in teaching.levers) >= 2
    assert [ls.lever.id for ls in play.Game(teaching, "red").situation().levers] == [
        "red_mobilises"]


def test_each_turn_shows_what_changed_and_what_can_be_decided(teaching):
    """After the first decision: no lever descriptions, no unchanged state, repeats folded."""
    game = play.Game(teaching, "blue", seed=1, replication=0, every=30)
    first = play.situation_text(game, game.situation())
    assert "Blue allows long-range strikes" in first  # explained once
    texts = []
    situation = game.play({})
    while situation is not None:
        texts.append(play.situation_text(game, situation))
        situation = game.play({})
    later = "\n".join(texts)
    assert "Blue allows long-range strikes" not in later
    assert "You decide (Blue): strikes_authorised=true (on/off), blue_offers_talks=false" \
        in later
    for text in texts:
        changed = next((line for line in text.splitlines() if line.startswith("Changed:")), "")
        assert "strikes" in changed or "Changed" not in text
        events = [line for line in text.splitlines() if "strikes deep inside" in line]
        assert len(events) <= 1  # later strikes are counted in "(and again: ...)"


def test_cli_play_with_moves_file_writes_transcript(tmp_path, capsys):
    """sim play --moves plays, prints the debrief and writes the Markdown transcript."""
    moves = _moves(tmp_path, "0: {strikes_authorised: false}\n")
    out = tmp_path / "t.md"
    args = ["play", str(TEACHING), "--as", "blue", "--moves", str(moves), "--transcript",
            str(out), "--runs", "200", "--workers", "1", "--seed", "2"]
    assert cli.main(args) == 0
    printed = capsys.readouterr().out
    assert "Moves from" in printed and "Your peak rung: 'Border skirmishes'" in printed
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# Play transcript: Teaching example")
    assert "- {day: 0, set: {strikes_authorised: false}}" in text
    assert "peaks at 'Border skirmishes' or higher in 100.0% of 200 runs" in text


def test_cli_refuses_to_overwrite_a_transcript(tmp_path, capsys):
    """An existing --transcript is not overwritten without consent (exit 2, file intact)."""
    out = tmp_path / "t.md"
    out.write_text("keep me", encoding="utf-8")
    moves = _moves(tmp_path, "[]\n")
    args = ["play", str(TEACHING), "--as", "blue", "--moves", str(moves), "--transcript",
            str(out), "--runs", "50", "--workers", "1"]
    assert cli.main(args) == 2
    assert out.read_text(encoding="utf-8") == "keep me"
    assert f"transcript {out} already exists and was not overwritten" in capsys.readouterr().err


@pytest.mark.parametrize("answer, kept", [("y", False), ("n", True)])
def test_cli_overwrites_a_transcript_only_with_consent(tmp_path, monkeypatch, answer, kept):
    """On a terminal, an existing transcript is replaced only if the user answers yes."""
    out = tmp_path / "t.md"
    out.write_text("keep me", encoding="utf-8")
    moves = _moves(tmp_path, "[]\n")
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr(builtins, "input", lambda prompt="": answer)
    args = ["play", str(TEACHING), "--as", "blue", "--moves", str(moves), "--transcript",
            str(out), "--runs", "50", "--workers", "1", "-q"]
    assert cli.main(args) == (2 if kept else 0)
    assert (out.read_text(encoding="utf-8") == "keep me") is kept


def test_cli_default_transcript_gets_a_fresh_name(tmp_path, monkeypatch):
    """Default transcripts go under results/ and never replace an earlier one."""
    monkeypatch.chdir(tmp_path)
    moves = _moves(tmp_path, "")
    args = ["play", str(TEACHING), "--as", "blue", "--moves", str(moves), "--runs", "50",
            "--workers", "1", "-q"]
    assert cli.main(args) == 0
    assert cli.main(args) == 0
    names = sorted(p.name for p in (tmp_path / "results").iterdir())
    assert names == ["play-teaching-blue-s1-r0-2.md", "play-teaching-blue-s1-r0.md"]


def test_cli_bad_moves_file_exits_2_with_the_message(tmp_path, capsys):
    """A bad move in a file: exit 2, the message on stderr, no transcript."""
    moves = _moves(tmp_path, "- {day: 30, set: {strikes_authorised: maybe}}\n")
    out = tmp_path / "t.md"
    args = ["play", str(TEACHING), "--as", "blue", "--moves", str(moves), "--transcript",
            str(out)]
    assert cli.main(args) == 2
    assert capsys.readouterr().err.strip() == (
        f"error: {moves}:1: day 30: lever 'strikes_authorised' is on/off: give true or false "
        "(got 'maybe')")
    assert not out.exists()


def test_cli_end_of_input_saves_the_game_so_far(tmp_path, monkeypatch, capsys):
    """EOF at the second decision exits 130 and says where the partial transcript is."""
    answers = iter(["strikes_authorised=false"])

    def fake_input(prompt=""):
        try:
            return next(answers)
        except StopIteration:
            raise EOFError from None
    monkeypatch.setattr(builtins, "input", fake_input)
    out = tmp_path / "t.md"
    assert cli.main(["play", str(TEACHING), "--as", "blue", "--transcript", str(out)]) == 130
    assert f"the transcript so far was saved to {out}" in capsys.readouterr().err
    assert "**Unfinished:** stopped at decision 2 of 3." in out.read_text(encoding="utf-8")


def test_cli_interrupt_before_first_move_saves_nothing(tmp_path, monkeypatch, capsys):
    """Ctrl-C at the first prompt exits 130 and says no transcript was saved."""
    def interrupt(prompt=""):
        raise KeyboardInterrupt
    monkeypatch.setattr(builtins, "input", interrupt)
    out = tmp_path / "t.md"
    assert cli.main(["play", str(TEACHING), "--as", "blue", "--transcript", str(out)]) == 130
    assert "no transcript was saved" in capsys.readouterr().err
    assert not out.exists()
