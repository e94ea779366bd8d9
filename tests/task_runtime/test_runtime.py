"""The generic runtime on a toy pipeline: phase rules, policy, decisions, control, corruption."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from kernel.task_runtime.contracts import RunState, RuntimeAction
from kernel.task_runtime.errors import ActionNotAllowedError, CorruptStateError, RunNotFoundError
from kernel.task_runtime.telemetry import read_events

from .toy_pipeline import make_api


def drive_to_gate(api, run_id: str) -> None:
    envelope = api.advance_run(run_id, wait_seconds=30)
    assert envelope.result is not None and envelope.result.status == "completed", envelope


def test_run_goes_through_every_phase_and_finalize_publishes_the_output(tmp_path: Path) -> None:
    api, _ = make_api(tmp_path)
    created = api.create_run({"n": 3})
    assert created.state == RunState.CREATED
    assert RuntimeAction.RUN_PHASE in created.allowed_actions

    drive_to_gate(api, created.run_id)
    at_gate = api.inspect_run(created.run_id)
    assert at_gate.state == RunState.READY
    assert at_gate.allowed_actions[0] == RuntimeAction.FINALIZE
    assert (at_gate.next_step.kind, at_gate.next_step.action) == ("act", "finalize")

    final = api.finalize_run(created.run_id, wait_seconds=30)
    assert final.state == RunState.COMPLETED
    assert (tmp_path / "out" / "result.txt").read_text() == "2 4 6\n"
    assert final.outputs == {"text": str(tmp_path / "out" / "result.txt")}
    assert final.allowed_actions == []


def test_unchanged_phases_are_skipped_with_the_reason_recorded(tmp_path: Path) -> None:
    api, _ = make_api(tmp_path)
    run_id = api.create_run({"n": 2}).run_id
    drive_to_gate(api, run_id)
    manifest = api.resolve(run_id).read_manifest()
    # Invalidate only the gate phase: earlier phases must be skipped, not redone.
    phases = dict(manifest.phases)
    phases["check"] = phases["check"].model_copy(update={"status": "interrupted"})
    (api.resolve(run_id).manifest_path).write_text(
        json.dumps(manifest.model_copy(update={"phases": phases}).model_dump(mode="json"))
    )
    drive_to_gate(api, run_id)
    manifest = api.resolve(run_id).read_manifest()
    assert manifest.phases["count"].runs == 1
    assert manifest.phases["count"].skips == 1
    assert "unchanged" in (manifest.phases["count"].last_skip_reason or "")
    assert manifest.phases["check"].runs == 2
    skipped = [e["phase"] for e in read_events(api.resolve(run_id).path, event="phase_skipped")]
    assert skipped == ["count", "double"]


def test_changing_one_phase_config_reruns_it_and_everything_downstream(tmp_path: Path) -> None:
    api, config = make_api(tmp_path)
    run_id = api.create_run({"n": 2}).run_id
    drive_to_gate(api, run_id)
    config["factor"] = 10  # only the `double` phase's config
    observed = api.inspect_run(run_id)
    assert RuntimeAction.RUN_PHASE in observed.allowed_actions
    drive_to_gate(api, run_id)
    manifest = api.resolve(run_id).read_manifest()
    assert manifest.phases["count"].runs == 1
    assert manifest.phases["double"].runs == 2
    assert manifest.phases["double"].run_reason == "config fingerprint changed"
    assert manifest.phases["check"].runs == 2
    api.finalize_run(run_id, wait_seconds=30)
    assert (tmp_path / "out" / "result.txt").read_text() == "10 20\n"


def test_a_deleted_output_artifact_reruns_its_phase(tmp_path: Path) -> None:
    api, _ = make_api(tmp_path)
    run_id = api.create_run({"n": 2}).run_id
    drive_to_gate(api, run_id)
    run_dir = api.resolve(run_id)
    (run_dir.path / run_dir.read_manifest().artifacts["doubled"].path).unlink()
    drive_to_gate(api, run_id)
    record = run_dir.read_manifest().phases["double"]
    assert record.runs == 2
    assert "missing" in (record.run_reason or "")


def test_an_action_outside_allowed_actions_is_refused_with_the_allowed_set(tmp_path: Path) -> None:
    api, _ = make_api(tmp_path)
    run_id = api.create_run({"n": 2}).run_id
    with pytest.raises(ActionNotAllowedError) as refused:
        api.advance_run(run_id, action="finalize")
    assert refused.value.code == "action_not_allowed"
    assert refused.value.details["allowed_actions"] == ["run_phase", "pause", "cancel"]
    with pytest.raises(ActionNotAllowedError):
        api.advance_run(run_id, action="no_such_action")


@pytest.mark.parametrize("action", ["run_phase", "pause", "cancel"])
def test_every_action_offered_to_a_new_run_executes(tmp_path: Path, action: str) -> None:
    api, _ = make_api(tmp_path)
    run_id = api.create_run({"n": 2}).run_id
    envelope = api.advance_run(run_id, action=action, wait_seconds=30)
    assert envelope.result is not None and envelope.result.status == "completed"
    expected = {"run_phase": RunState.READY, "pause": RunState.PAUSED,
                "cancel": RunState.CANCELLED}[action]
    assert envelope.state == expected


@pytest.mark.parametrize("action", ["resume", "cancel"])
def test_every_action_offered_to_a_paused_run_executes(tmp_path: Path, action: str) -> None:
    api, _ = make_api(tmp_path)
    run_id = api.create_run({"n": 2}).run_id
    paused = api.apply_control(run_id, "pause")
    assert paused.state == RunState.PAUSED
    assert set(paused.allowed_actions) == {RuntimeAction.RESUME, RuntimeAction.CANCEL}
    envelope = api.advance_run(run_id, action=action)
    assert envelope.state == (RunState.CREATED if action == "resume" else RunState.CANCELLED)


def test_degraded_quality_is_finalized_only_by_accepting_it(tmp_path: Path) -> None:
    api, _ = make_api(tmp_path, limit=1)
    run_id = api.create_run({"n": 2}).run_id
    drive_to_gate(api, run_id)
    at_gate = api.inspect_run(run_id)
    assert at_gate.state == RunState.AWAITING_DECISION
    assert RuntimeAction.FINALIZE not in at_gate.allowed_actions
    assert RuntimeAction.ACCEPT_DEGRADED in at_gate.allowed_actions
    assert at_gate.next_step.must_choose and "accept_degraded" in at_gate.next_step.choices
    with pytest.raises(ActionNotAllowedError):
        api.finalize_run(run_id)
    final = api.finalize_run(run_id, accept_degraded=True, wait_seconds=30)
    assert final.state == RunState.COMPLETED_DEGRADED


def test_pause_during_a_phase_stops_at_a_safe_point_and_resume_finishes(tmp_path: Path) -> None:
    gate, entered = threading.Event(), threading.Event()
    api, config = make_api(tmp_path, block=gate, entered=entered)
    run_id = api.create_run({"n": 2}).run_id
    started = api.advance_run(run_id, wait_seconds=0)
    assert started.result is not None and started.result.status == "running"
    assert entered.wait(10)
    assert set(api.inspect_run(run_id).allowed_actions) == {RuntimeAction.PAUSE, RuntimeAction.CANCEL}
    api.apply_control(run_id, "pause", reason="test")
    followed = api.advance_run(run_id, wait_seconds=30)
    assert followed.state == RunState.PAUSED
    manifest = api.resolve(run_id).read_manifest()
    assert manifest.phases["double"].status == "interrupted"
    assert manifest.phases["count"].status == "succeeded"

    config.pop("block")
    resumed = api.resume_run(run_id)
    assert resumed.state == "processing"  # the state it was paused in (the phase after counting)
    drive_to_gate(api, run_id)
    manifest = api.resolve(run_id).read_manifest()
    assert manifest.phases["count"].runs == 1  # finished work was not redone
    assert api.finalize_run(run_id, wait_seconds=30).state == RunState.COMPLETED


def test_cancel_during_a_phase_ends_the_run_and_keeps_finished_work(tmp_path: Path) -> None:
    gate, entered = threading.Event(), threading.Event()
    api, _ = make_api(tmp_path, block=gate, entered=entered)
    run_id = api.create_run({"n": 2}).run_id
    api.advance_run(run_id, wait_seconds=0)
    assert entered.wait(10)
    api.apply_control(run_id, "cancel")
    followed = api.advance_run(run_id, wait_seconds=30)
    assert followed.state == RunState.CANCELLED
    assert followed.allowed_actions == []
    run_dir = api.resolve(run_id)
    assert (run_dir.path / run_dir.read_manifest().artifacts["numbers"].path).is_file()


def test_a_hand_corrupted_manifest_names_the_file_and_json_pointer(tmp_path: Path) -> None:
    api, _ = make_api(tmp_path)
    run_id = api.create_run({"n": 2}).run_id
    drive_to_gate(api, run_id)
    path = api.resolve(run_id).manifest_path
    data = json.loads(path.read_text())
    data["phases"]["double"]["status"] = "done-ish"
    path.write_text(json.dumps(data))
    before = path.read_bytes()
    with pytest.raises(CorruptStateError) as corrupt:
        api.inspect_run(run_id)
    assert corrupt.value.details["file"] == "manifest.json"
    assert corrupt.value.details["pointer"] == "/phases/double/status"
    with pytest.raises(CorruptStateError):
        api.advance_run(run_id)
    assert path.read_bytes() == before  # nothing was rewritten or lost
    artifacts = sorted(p.name for p in (api.resolve(run_id).path / "artifacts").rglob("*.json"))
    assert artifacts == ["doubled.json", "numbers.json", "report.json"]


def test_invalid_json_in_the_manifest_is_reported_with_the_file_name(tmp_path: Path) -> None:
    api, _ = make_api(tmp_path)
    run_id = api.create_run({"n": 2}).run_id
    api.resolve(run_id).manifest_path.write_text('{"run_id": ')
    with pytest.raises(CorruptStateError) as corrupt:
        api.inspect_run(run_id)
    assert corrupt.value.details["file"] == "manifest.json"


def test_an_unknown_run_id_is_reported_as_unknown(tmp_path: Path) -> None:
    api, _ = make_api(tmp_path)
    with pytest.raises(RunNotFoundError) as unknown:
        api.inspect_run("r20990101-000000-abcdef")
    assert unknown.value.code == "unknown_run"


def test_every_transition_is_recorded_in_telemetry(tmp_path: Path) -> None:
    api, _ = make_api(tmp_path)
    run_id = api.create_run({"n": 2}).run_id
    drive_to_gate(api, run_id)
    api.finalize_run(run_id, wait_seconds=30)
    transitions = [(e["from_state"], e["to_state"]) for e in read_events(api.resolve(run_id).path, event="transition")]
    assert transitions == [("created", "counting"), ("counting", "processing"), ("processing", "ready"),
                           ("ready", "processing"), ("processing", "completed")]
