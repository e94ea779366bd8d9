"""The one next step: in every reachable state, ``next_step`` says exactly what advance-run does next, or
that the caller must choose among allowed actions only.

Two ways: the toy pipeline driven into each state for real (then advance-run is called and compared), and
the pure policy over every combination of observed facts for both the toy's and yt-transcript's action
tables.
"""

from __future__ import annotations

import itertools
import threading
from pathlib import Path

import pytest

from kernel.pipeline import TranscriptPipeline
from kernel.task_runtime import control
from kernel.task_runtime.actions import ActionTable
from kernel.task_runtime.api import RuntimeApi
from kernel.task_runtime.contracts import Failure, Observation, RunState, WorkerStatus
from kernel.task_runtime.policy import decide, evaluate

from .toy_pipeline import TOY_ACTIONS, make_api


def assert_next_step_is_what_advance_does(api: RuntimeApi, run_id: str) -> str:
    """Check the invariant once, take the step (or try to), and return the step's kind."""
    view = api.inspect_run(run_id)
    step = view.next_step
    table_names = api.pipeline.actions.names()
    assert set(view.allowed_actions) <= set(table_names)  # everything offered has an executor
    assert set(step.choices) <= set(view.allowed_actions)
    assert step.must_choose == (step.kind == "choose")
    if step.kind == "act":
        assert step.action in view.allowed_actions
        advanced = api.advance_run(run_id, wait_seconds=30)
        assert advanced.decision is not None and advanced.decision.chosen == step.action
        assert advanced.decision.source == "policy"
    elif step.kind == "choose":
        assert step.choices, step
        advanced = api.advance_run(run_id, wait_seconds=0)
        assert advanced.decision is None and advanced.result is not None and advanced.result.status == "noop"
    elif step.kind == "wait":
        advanced = api.advance_run(run_id, wait_seconds=0)
        assert advanced.decision is None and advanced.result is not None and advanced.result.status == "running"
    else:
        assert step.kind == "done" and view.allowed_actions == []
        advanced = api.advance_run(run_id, wait_seconds=0)
        assert advanced.result is not None and advanced.result.status == "noop"
    return step.kind


def test_a_new_run_acts_until_the_passed_gate_and_then_finalizes(tmp_path: Path) -> None:
    api, _ = make_api(tmp_path)
    run_id = api.create_run({"n": 2}).run_id
    kinds = [assert_next_step_is_what_advance_does(api, run_id) for _ in range(3)]
    assert kinds == ["act", "act", "done"]  # run_phase, finalize, completed
    assert api.inspect_run(run_id).state == RunState.COMPLETED


def test_work_in_progress_is_followed_and_a_pending_pause_then_waits_for_a_choice(tmp_path: Path) -> None:
    gate, entered = threading.Event(), threading.Event()
    api, config = make_api(tmp_path, block=gate, entered=entered)
    run_id = api.create_run({"n": 2}).run_id
    api.advance_run(run_id, wait_seconds=0)
    assert entered.wait(10)
    assert assert_next_step_is_what_advance_does(api, run_id) == "wait"
    api.apply_control(run_id, "pause")
    assert api.inspect_run(run_id).next_step.kind == "wait"  # the worker still has to reach a safe point
    assert api.advance_run(run_id, wait_seconds=30).state == RunState.PAUSED
    paused = api.inspect_run(run_id).next_step
    assert paused.choices == ["resume", "cancel"]
    assert assert_next_step_is_what_advance_does(api, run_id) == "choose"
    config.pop("block")


def test_a_pending_cancel_is_completed_by_the_next_advance(tmp_path: Path) -> None:
    api, _ = make_api(tmp_path)
    run_id = api.create_run({"n": 2}).run_id
    # A cancel request left by a process that died before honouring it.
    control.request(api.resolve(run_id).path, "cancel", "test", api.clock)
    step = api.inspect_run(run_id).next_step
    assert (step.kind, step.action) == ("act", "cancel")
    assert_next_step_is_what_advance_does(api, run_id)
    assert api.inspect_run(run_id).state == RunState.CANCELLED
    assert assert_next_step_is_what_advance_does(api, run_id) == "done"


def test_a_degraded_gate_asks_for_a_choice_and_each_choice_executes(tmp_path: Path) -> None:
    api, config = make_api(tmp_path, limit=3)  # 2 4 -> the biggest (4) is over 3 but within 10x: degraded
    run_id = api.create_run({"n": 2}).run_id
    assert_next_step_is_what_advance_does(api, run_id)
    step = api.inspect_run(run_id).next_step
    assert api.inspect_run(run_id).state == RunState.AWAITING_DECISION
    assert step.choices == ["accept_degraded", "raise_limit", "cancel"]
    assert assert_next_step_is_what_advance_does(api, run_id) == "choose"
    raised = api.advance_run(run_id, action="raise_limit", wait_seconds=30)
    assert raised.result is not None and raised.result.status == "completed"
    assert config["limit"] == 6 and api.inspect_run(run_id).next_step.action == "finalize"


def test_a_failed_gate_offers_only_what_can_change_it(tmp_path: Path) -> None:
    api, _ = make_api(tmp_path, limit=0)  # every number is far over the limit: the gate fails
    run_id = api.create_run({"n": 2}).run_id
    assert_next_step_is_what_advance_does(api, run_id)
    step = api.inspect_run(run_id).next_step
    assert step.kind == "choose" and step.choices == ["cancel"]
    assert "failed" in step.reason


def test_a_transient_phase_failure_is_retried_only_when_chosen(tmp_path: Path) -> None:
    api, config = make_api(tmp_path, fail_double=True)
    run_id = api.create_run({"n": 2}).run_id
    assert_next_step_is_what_advance_does(api, run_id)
    step = api.inspect_run(run_id).next_step
    assert step.kind == "choose" and step.choices == ["run_phase", "cancel"]
    assert "double_unavailable" in step.reason
    assert assert_next_step_is_what_advance_does(api, run_id) == "choose"
    config["fail_double"] = False
    retried = api.advance_run(run_id, action="run_phase", wait_seconds=30)
    assert retried.state == RunState.READY


def test_a_permanent_failure_offers_no_retry_and_says_to_start_again(tmp_path: Path) -> None:
    api, _ = make_api(tmp_path, factor=0)
    run_id = api.create_run({"n": 2}).run_id
    assert_next_step_is_what_advance_does(api, run_id)
    view = api.inspect_run(run_id)
    assert view.state == RunState.FAILED and "run_phase" not in view.allowed_actions
    assert view.next_step.choices == ["cancel"] and "start a new run" in view.next_step.reason


def test_a_permanent_failure_with_a_domain_remedy_takes_the_remedy_by_itself(tmp_path: Path) -> None:
    api, _ = make_api(tmp_path, start=-5)
    run_id = api.create_run({"n": 2}).run_id
    assert_next_step_is_what_advance_does(api, run_id)
    step = api.inspect_run(run_id).next_step
    assert (step.kind, step.action) == ("act", "use_default_start")
    assert_next_step_is_what_advance_does(api, run_id)
    assert api.inspect_run(run_id).state == RunState.READY


# --------------------------------------------------------------------------- the pure policy, exhaustively
STATES = ["created", "processing", "ready", "awaiting_decision", "paused", "failed", "completed",
          "completed_degraded", "cancelled", "transcribing"]
FAILURES = [None, Failure(phase="transcribe", code="subtitles_unusable", permanent=True),
            Failure(phase="acquire", code="rate_limited"), Failure(phase="count", code="negative_start", permanent=True)]
QUALITY = [None, "pass", "degraded", "fail"]


def observations() -> list[Observation]:
    found = []
    for state, failure, quality, pause, cancel, running, foreign, due, domain in itertools.product(
        STATES, FAILURES, QUALITY, (False, True), (False, True), (False, True), (False, True), (False, True),
        ({}, {"has_audio": True, "fallback_chunks": 2, "llm_used": True}),
    ):
        if failure is not None and state != "failed":
            continue
        found.append(Observation(
            run_id="r", state=state, next_phase="p" if due else None, due_phases=["p"] if due else [],
            failure=failure, pause_requested=pause, cancel_requested=cancel, lease_live=running or foreign,
            lease_owned_here=running, worker=WorkerStatus(running=running, action="run_phase" if running else None),
            gate_phase_done=quality is not None and not due, quality_status=quality, degraded_accepted=False,
            domain=domain,
        ))
    return found


@pytest.mark.parametrize("table", [TOY_ACTIONS, TranscriptPipeline().actions], ids=["toy", "yt-transcript"])
def test_in_every_observable_state_the_next_step_is_what_a_bare_advance_decides(table: ActionTable) -> None:
    checked = 0
    for obs in observations():
        evaluation = evaluate(obs, table)
        step = evaluation.next_step
        assert set(evaluation.allowed_actions) <= set(table.names()), obs
        assert set(step.choices) <= set(evaluation.allowed_actions), obs
        assert step.must_choose == (step.kind == "choose"), obs
        assert step.kind != "choose" or step.choices, obs
        decision = decide(None, evaluation)
        if step.kind == "act":
            assert decision is not None and decision.chosen == step.action, obs
            assert step.action in evaluation.allowed_actions
        else:
            assert decision is None, obs
        checked += 1
    assert checked > 1000


def test_a_failed_gate_with_fallback_chunks_asks_to_choose_instead_of_claiming_progress() -> None:
    obs = Observation(
        run_id="r", state="awaiting_decision", next_phase=None, due_phases=[], failure=None, pause_requested=False,
        cancel_requested=False, lease_live=False, lease_owned_here=False, worker=WorkerStatus(),
        gate_phase_done=True, quality_status="fail", degraded_accepted=False,
        domain={"fallback_chunks": 3, "llm_used": True},
    )
    step = evaluate(obs, TranscriptPipeline().actions).next_step
    assert step.kind == "choose" and step.choices == ["retry_chunk", "replan_remaining", "cancel"]
