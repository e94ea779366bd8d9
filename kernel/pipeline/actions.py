"""The yt-transcript action table: its domain actions, when each is offered, and their executors.

- ``reroute_to_asr`` (automatic): the subtitle route failed in a way speech recognition avoids (the track
  is no usable transcript, or it cannot be fetched or read; ``REROUTABLE_SUBTITLE_FAILURES``) and the
  source has audio: the track is recorded as rejected and routing runs again.
- ``retry_chunk`` (the caller's choice): the quality gate did not pass because chunks fell back to
  deterministic text; send them (or one, ``chunk_id``) to the LLM again as they were.
- ``replan_remaining`` (the caller's choice): the same, but re-plan those chunks smaller first.
- ``submit_chunk`` (the caller's, with ``llm="agent"``): the calling agent's text for the chunk whose task
  is waiting (``chunk_id``, ``text``); it is saved, then judged by the chunk loop like an endpoint's reply,
  which hands out the next task (a repair, or the next chunk).

Every offer rule is a pure function of the observation (``Observation.domain`` holds the facts of
``observe_facts``); every executor runs in the background worker under the lease and asks the runtime to
drive the phases on afterwards.
"""

from __future__ import annotations

from typing import Any

from ..long_text.actions import replan_fallback_chunks, retry_fallback_chunks
from ..long_text.agent_loop import submit_answer
from ..long_text.chunk_files import CURRENT_PLAN_KEY, REPLAN_PATH_KEY
from ..source.routing import REROUTABLE_SUBTITLE_FAILURES, rejected_track_record
from ..task_runtime.actions import ActionContext, ActionOutcome, ActionTable, DomainAction
from ..task_runtime.contracts import ActionResult, Observation, RunState
from ..task_runtime.errors import InvalidInputError
from ..task_runtime.store import read_json
from ..transcript import RouteDecision

REROUTE_TO_ASR = "reroute_to_asr"
RETRY_CHUNK = "retry_chunk"
REPLAN_REMAINING = "replan_remaining"
SUBMIT_CHUNK = "submit_chunk"


# --------------------------------------------------------------------------- offer rules
def offer_reroute(obs: Observation) -> str | None:
    failure = obs.failure
    if failure is None or failure.code not in REROUTABLE_SUBTITLE_FAILURES or not obs.domain.get("has_audio"):
        return None
    return f"the subtitle track cannot be used ({failure.code}); transcribe the audio instead"


def _fallback_offer(obs: Observation) -> int:
    fallbacks = int(obs.domain.get("fallback_chunks", 0))
    if obs.gate_phase_done and obs.quality_status != "pass" and fallbacks and obs.domain.get("llm_used"):
        return fallbacks
    return 0


def offer_retry_chunk(obs: Observation) -> str | None:
    count = _fallback_offer(obs)
    return f"send the {count} chunk(s) that fell back to deterministic text to the LLM again" if count else None


def offer_replan_remaining(obs: Observation) -> str | None:
    count = _fallback_offer(obs)
    return f"re-plan the {count} fallback chunk(s) smaller and send them to the LLM again" if count else None


def offer_submit_chunk(obs: Observation) -> str | None:
    chunk_id = obs.domain.get("awaiting_chunk")
    if obs.state != RunState.AWAITING_INPUT or not chunk_id:
        return None
    return (f"chunk {chunk_id} waits for your text: write it as agent_task asks (the text only) and submit it "
            f"with chunk_id={chunk_id}")


# --------------------------------------------------------------------------- executors
def _invalidate(ctx: ActionContext, phase: str, domain: dict[str, Any] | None = None) -> None:
    """Mark ``phase`` for re-running (and merge ``domain`` facts) so the phases driven next redo it."""
    manifest = ctx.run_dir.read_manifest()
    phases = dict(manifest.phases)
    if phase in phases:
        phases[phase] = phases[phase].model_copy(update={"status": "invalidated"})
    ctx.run_dir.commit(manifest.model_copy(update={"phases": phases, "domain": {**manifest.domain, **(domain or {})}}),
                       ctx.lease)


def reroute_to_asr(ctx: ActionContext) -> ActionOutcome:
    manifest = ctx.manifest
    rejected = list(manifest.domain.get("rejected_tracks", []))
    route_ref = manifest.artifacts.get("route.decision")
    if route_ref is not None:
        decision = RouteDecision.model_validate(read_json(ctx.run_dir.path / route_ref.path))
        if decision.track is not None:
            rejected.append(rejected_track_record(decision.track, manifest.failure))
    _invalidate(ctx, "route", {"rejected_tracks": rejected})
    ctx.run_dir.telemetry(manifest.run_id).emit(REROUTE_TO_ASR, rejected_tracks=len(rejected),
                                                cause=(manifest.failure or {}).get("code"))
    return ActionOutcome(ActionResult(
        action=REROUTE_TO_ASR, status="completed",
        detail="subtitle track rejected; routing again (speech recognition unless another track fits)",
    ), continue_phases=True)


def retry_chunk(ctx: ActionContext) -> ActionOutcome:
    reset = retry_fallback_chunks(ctx.run_dir, ctx.manifest, ctx.lease, ctx.args.get("chunk_id"))
    _invalidate(ctx, "transform")
    return ActionOutcome(ActionResult(action=RETRY_CHUNK, status="completed",
                                      detail=f"{len(reset)} chunk(s) sent again", data={"chunks": reset}),
                         continue_phases=True)


def replan_remaining(ctx: ActionContext) -> ActionOutcome:
    plan_id, plan_path = replan_fallback_chunks(ctx.run_dir, ctx.manifest, ctx.lease)
    _invalidate(ctx, "transform", {REPLAN_PATH_KEY: plan_path, CURRENT_PLAN_KEY: plan_id})
    return ActionOutcome(ActionResult(action=REPLAN_REMAINING, status="completed",
                                      detail=f"fallback chunks re-planned as {plan_id}", data={"plan_id": plan_id}),
                         continue_phases=True)


def submit_chunk(ctx: ActionContext) -> ActionOutcome:
    chunk_id, text = ctx.args.get("chunk_id"), ctx.args.get("text")
    if not isinstance(chunk_id, str) or not chunk_id or not isinstance(text, str):
        raise InvalidInputError("submit_chunk needs chunk_id and text (the chunk's rewritten text)",
                                code="missing_argument", details={"field": "text" if chunk_id else "chunk_id"})
    saved = submit_answer(ctx.run_dir.path, ctx.manifest.domain, chunk_id, text, ctx.lease)
    turn = saved.agent_turn
    ctx.run_dir.telemetry(ctx.manifest.run_id).emit(SUBMIT_CHUNK, chunk_id=chunk_id, chars=len(text),
                                                    attempt=turn.attempt if turn else None)
    return ActionOutcome(ActionResult(action=SUBMIT_CHUNK, status="completed",
                                      detail=f"text for chunk {chunk_id} saved; verifying it"), continue_phases=True)


ACTION_TABLE = ActionTable(domain=(
    DomainAction(REROUTE_TO_ASR, "reject the subtitle track and transcribe the audio instead",
                 executor=reroute_to_asr, offered=offer_reroute, automatic=True),
    DomainAction(RETRY_CHUNK, "send the chunks that fell back to deterministic text to the LLM again "
                 "(optionally only chunk_id)", executor=retry_chunk, offered=offer_retry_chunk,
                 arguments=(("chunk_id", "one fallback chunk to send again (default: all of them)"),)),
    DomainAction(REPLAN_REMAINING, "re-plan the fallback chunks smaller and send them to the LLM again",
                 executor=replan_remaining, offered=offer_replan_remaining),
    DomainAction(SUBMIT_CHUNK, "submit your text for the chunk agent_task asks for (llm='agent')",
                 executor=submit_chunk, offered=offer_submit_chunk, background=False, required=("chunk_id", "text"),
                 arguments=(("chunk_id", "the chunk_id of agent_task"),
                            ("text", "your text for the chunk: only the transformed text, no preamble"))),
))
