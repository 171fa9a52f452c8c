"""Switches followed until live: which flags moved (analysis.switches) and the pending -> live /
late state machine (server.peering.switches.SwitchBoard), on a clock the test moves."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from analysis.deployed import DeployedTask
from analysis.switches import Flags, Switched, switched
from server.peering.switches import Phase, SwitchBoard, hh_mm, hover_line, lens_text

PROXY = "DefaultProxyTaskToDagsterOperator"
T0 = datetime(2026, 12, 4, 12, 4, tzinfo=timezone.utc)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def tasks(**operators: str) -> tuple[DeployedTask, ...]:
    return tuple(DeployedTask(task_id, operator) for task_id, operator in operators.items())


def board() -> tuple[SwitchBoard, Clock]:
    clock = Clock()
    return SwitchBoard(clock=clock), clock


def test_moved_flags_are_switches():
    before = {"d": Flags(None, frozenset({"a"})), "e": Flags(None, frozenset())}
    after = {"d": Flags(None, frozenset({"b", "c"})), "e": Flags(True, frozenset())}
    assert switched(before, after) == [Switched("d", ("b", "c"), True), Switched("d", ("a",), False),
                                       Switched("e", (), True)]
    assert switched(after, after) == []
    assert switched(before, {"e": after["e"]}) == [Switched("e", (), True)]  # d unreadable now: no switch
    # A DAG-level rollback covers the tasks; task flags under a DAG-level flag switch nothing.
    assert switched({"d": Flags(True, frozenset())}, {"d": Flags(None, frozenset())}) == [Switched("d", (), False)]
    assert switched({"d": Flags(True, frozenset())}, {"d": Flags(True, frozenset({"a"}))}) == []


def test_proxy_pending_then_live_then_dropped():
    switches, clock = board()
    switches.record([Switched("d", ("a",), True)], {"d": "d.py"})
    assert switches.take_reparse_due() == ["d"] and switches.take_reparse_due() == []
    assert lens_text(switches.get("d", "a")) == "proxy pending"
    assert switches.get("d", "b") is None and switches.following() == ["d"]

    clock.advance(seconds=20)
    assert not switches.observe("d", tasks(a="PythonOperator", b="BashOperator"))  # not re-parsed yet
    assert switches.get("d", "a").phase is Phase.PENDING
    clock.advance(seconds=5)
    assert switches.observe("d", tasks(a=PROXY, b="BashOperator"))
    live = switches.get("d", "a")
    assert live.phase is Phase.LIVE and lens_text(live) == f"proxied: live since {hh_mm(clock.now)}"
    assert switches.following() == []  # no more requests for it
    assert "proxied: live since" in hover_line(live, False) and "\n" not in hover_line(live, False).strip()

    clock.advance(minutes=10, seconds=1)
    assert switches.get("d", "a") is None and switches.expire() and switches.get("d", "a") is None


def test_rollback_replaces_the_pending_proxy():
    switches, clock = board()
    switches.record([Switched("d", ("a",), True)], {"d": "d.py"})
    clock.advance(seconds=3)
    switches.record([Switched("d", ("a",), False)], {"d": "d.py"})
    assert lens_text(switches.get("d", "a")) == "rollback pending"
    assert switches.get("d", "a").since == clock.now
    assert switches.observe("d", tasks(a="PythonOperator"))  # the proxy never went live: rolled back is live
    assert lens_text(switches.get("d", "a")).startswith("back in Airflow: live since ")
    # A live state is replaced by the next switch at once.
    switches.record([Switched("d", ("a",), True)], {"d": "d.py"})
    assert lens_text(switches.get("d", "a")) == "proxy pending"


def test_timeout_says_what_is_missing():
    switches, clock = board()
    switches.record([Switched("d", ("a",), True)], {"d": "orders.py"})
    switches.note_reparse("d", "re-parse asked", stamp="2026-12-04T12:03:00Z", stamp_read=True)
    clock.advance(minutes=4, seconds=59)
    assert not switches.late_due("d")
    assert not switches.observe("d", tasks(a="PythonOperator"))
    clock.advance(seconds=2)
    assert switches.late_due("d")
    assert switches.observe("d", tasks(a="PythonOperator"), stamp="2026-12-04T12:03:00Z", stamp_read=True)
    assert switches.late_due("d")  # not parsed since: the stamp is read again next poll
    late = switches.get("d", "a")
    assert late.phase is Phase.LATE
    assert lens_text(late) == ("proxy not live after 5 min: Airflow has not re-parsed `orders.py` yet: "
                               "is the file deployed?")
    assert "re-parse asked" in hover_line(late, True)
    # Parsed since, still the old operator: the state file is what is missing.
    assert switches.observe("d", tasks(a="PythonOperator"), stamp="2026-12-04T12:09:00Z", stamp_read=True)
    assert "but `a` still runs `PythonOperator`" in lens_text(switches.get("d", "a"))
    assert not switches.late_due("d")  # the stamp moved: no more reads of it
    # Still followed: it can go live late.
    assert switches.following() == ["d"]
    assert switches.observe("d", tasks(a=PROXY))
    assert switches.get("d", "a").phase is Phase.LIVE
    # The DAG gone from Airflow.
    switches.record([Switched("d", ("a",), False)], {"d": "orders.py"})
    clock.advance(minutes=6)
    switches.observe("d", None)
    assert lens_text(switches.get("d", "a")).endswith("Airflow no longer has DAG `d`")
    clock.advance(hours=1)
    assert switches.observe("d", None) and switches.get("d", "a") is None and switches.following() == []


def test_dag_level_switch():
    switches, _ = board()
    switches.record([Switched("d", ("a",), True)], {"d": "d.py"})
    switches.record([Switched("d", (), True)], {"d": "d.py"})  # replaces the task's switch
    assert switches.get("d", None).task_id is None and switches.get("d", "b").task_id is None
    assert not switches.observe("d", tasks(a="PythonOperator", b="BashOperator"))
    assert switches.observe("d", tasks(DAGSTER_OVERRIDE_DAG_d="DefaultProxyDAGToDagsterOperator"))
    assert lens_text(switches.get("d", "a")).startswith("proxied: live since")
    switches.record([Switched("d", (), False)], {"d": "d.py"})
    assert not switches.observe("d", tasks(DAGSTER_OVERRIDE_DAG_d="DefaultProxyDAGToDagsterOperator"))
    assert switches.observe("d", tasks(a="PythonOperator"))
    assert lens_text(switches.get("d", None)).startswith("back in Airflow: live since")


def test_a_plans_state_edits_are_its_switches():
    from analysis.plans.files import FileChange
    from analysis.switches import switched_by

    old = "tasks:\n  - id: a\n    proxied: false\n  - id: b\n    proxied: true\n"
    new = "tasks:\n  - id: a\n    proxied: true\n  - id: b\n    proxied: false\n"
    assert switched_by([FileChange("x/proxied_state/d.yaml", old, new), FileChange("x/d.py", "a", "b")]) == [
        Switched("d", ("a",), True), Switched("d", ("b",), False)]
    assert switched_by([FileChange("x/proxied_state/d.yaml", None, new)]) == [Switched("d", ("a",), True)]
    assert switched_by([FileChange("x/proxied_state/d.yaml", new, None)]) == []  # removed: decommission
    assert switched_by([FileChange("x/proxied_state/d.yaml", old, "tasks: [")]) == []  # unreadable
