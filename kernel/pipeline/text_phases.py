"""Long-text phases: plan, transform (the chunk loop), merge.

``plan`` writes the current plan (a readable JSON file); ``transform`` brings every chunk of the current
plan to a final state, one small state file per chunk under ``chunks/<plan_id>/`` (finishing a chunk
rewrites only that file); ``merge`` concatenates chunk outputs in core order and fails loudly if any
sentence is unaccounted for.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..config import LLMProfile, Settings
from ..long_text.agent_loop import AGENT_PROFILE
from ..long_text.chunk_files import CURRENT_PLAN_KEY, REPLAN_PATH_KEY
from ..task_runtime.contracts import ArtifactRef, RunState
from ..task_runtime.phases import Phase, PhaseContext, PhaseOutput, PhaseResult
from ..task_runtime.schemas import read_model
from ..transcript import NormalizedDocument, SourceInfo
from .intent import TranscriptParams
from .states import TranscriptState

if TYPE_CHECKING:
    from ..long_text.contracts import Plan


def effective_llm(params: TranscriptParams, settings: Settings) -> LLMProfile | None:
    """The LLM profile this run plans with: the endpoint's (with the run's budgets), the agent's task
    sizes, or None for deterministic formatting."""
    writer = params.writer(settings)
    if writer is None:
        return None
    if writer == "agent":
        return AGENT_PROFILE
    profile = settings.llm_profile(params.llm_profile)
    updates: dict[str, Any] = {}
    if params.max_llm_requests is not None:
        updates["max_requests"] = params.max_llm_requests
    if params.max_llm_tokens is not None:
        updates["max_tokens_total"] = params.max_llm_tokens
    return profile.model_copy(update=updates) if updates else profile


def llm_config(profile: LLMProfile | None) -> dict[str, Any] | None:
    """The parts of an LLM profile that change outputs (never the key)."""
    if profile is None:
        return None
    return {
        "base_url": profile.base_url,
        "model": profile.model,
        "context_window": profile.context_window,
        "max_output_tokens": profile.max_output_tokens,
        "temperature": profile.temperature,
    }


def plan_document(doc: NormalizedDocument, info: SourceInfo, params: TranscriptParams, settings: Settings,
                  plan_id: str = "p1") -> Plan:
    """The run's first plan for ``doc``: its glossary (metadata, the user's terms, the start of the
    transcript), the request the intent makes, and the chunks the effective LLM profile sizes. The plan
    phase calls it on the whole document; the early chunk worker (``overlap``) on a growing one."""
    from ..long_text.contracts import TransformRequest
    from ..long_text.glossary import build_glossary
    from ..long_text.plan import build_plan
    from ..long_text.tokens import count_tokens

    chapter_titles: list[str | None] = [c.title for c in doc.chapters]
    glossary = build_glossary(info.title, info.description, [t for t in chapter_titles if t], doc, params.glossary)
    request = TransformRequest(mode=params.mode, source_language=doc.language,
                               target_language=params.target_language, user_glossary=params.glossary)
    return build_plan(doc, request, llm=effective_llm(params, settings), glossary=glossary,
                      chapter_titles=chapter_titles, plan_id=plan_id, count_tokens=count_tokens)


class PlanPhase(Phase):
    name = "plan"
    version = "2"
    state_on_start = TranscriptState.PLANNING

    def requires(self, params: TranscriptParams) -> list[str]:
        return ["doc.normalized", "source.info"]

    def provides(self, params: TranscriptParams) -> list[str]:
        return ["plan.current"]

    def config(self, params: TranscriptParams, settings: Settings) -> dict[str, Any]:
        return {
            "mode": params.mode,
            "target_language": params.target_language,
            "glossary": params.glossary,
            "llm": llm_config(effective_llm(params, settings)),
        }

    def run(self, ctx: PhaseContext, inputs: Mapping[str, ArtifactRef]) -> PhaseResult:
        from ..long_text.plan import plan_summary

        doc = ctx.load_model(inputs["doc.normalized"], NormalizedDocument)
        info = ctx.load_model(inputs["source.info"], SourceInfo)
        plan = plan_document(doc, info, ctx.params, ctx.settings)
        return PhaseResult(outputs={"plan.current": PhaseOutput.json(plan, "plan.json")},
                           summary=plan_summary(plan),
                           domain_updates={CURRENT_PLAN_KEY: plan.plan_id, REPLAN_PATH_KEY: None})


class TransformPhase(Phase):
    name = "transform"
    version = "1"

    def requires(self, params: TranscriptParams) -> list[str]:
        return ["plan.current", "doc.normalized"]

    def provides(self, params: TranscriptParams) -> list[str]:
        return ["transform.result"]

    def config(self, params: TranscriptParams, settings: Settings) -> dict[str, Any]:
        return {"llm": llm_config(effective_llm(params, settings))}

    def run(self, ctx: PhaseContext, inputs: Mapping[str, ArtifactRef]) -> PhaseResult:
        from ..long_text.contracts import Plan
        from ..long_text.process import process_plan

        doc = ctx.load_model(inputs["doc.normalized"], NormalizedDocument)
        plan = ctx.load_model(inputs["plan.current"], Plan)
        plan_path = inputs["plan.current"].path
        current = ctx.domain.get(REPLAN_PATH_KEY)
        if current:  # a replan superseded the planned chunks; its plan file is in the work_dir
            plan_path = str(current)
            plan = read_model(ctx.run_dir.path / plan_path, Plan)
        result = process_plan(ctx, plan, plan_path, doc, effective_llm(ctx.params, ctx.settings),
                              writer=ctx.params.writer(ctx.settings))
        replanned = result["plan_path"] != inputs["plan.current"].path
        return PhaseResult(outputs={"transform.result": PhaseOutput.json(result, "transform.json")},
                           summary={k: v for k, v in result.items() if k in ("plan_id", "counts", "usage")},
                           domain_updates={CURRENT_PLAN_KEY: str(result["plan_id"]),
                                           REPLAN_PATH_KEY: result["plan_path"] if replanned else None})


class TitlesPhase(Phase):
    """Section titles by the run's writer (``kernel.long_text.section_titles``), or deterministic ones."""

    name = "titles"
    version = "1"
    state_on_start = RunState.PROCESSING

    def requires(self, params: TranscriptParams) -> list[str]:
        return ["transform.result", "doc.normalized"]

    def provides(self, params: TranscriptParams) -> list[str]:
        return ["titles.chosen"]

    def config(self, params: TranscriptParams, settings: Settings) -> dict[str, Any]:
        return {"writer": params.writer(settings), "llm": llm_config(effective_llm(params, settings))}

    def run(self, ctx: PhaseContext, inputs: Mapping[str, ArtifactRef]) -> PhaseResult:
        from ..long_text.contracts import Plan
        from ..long_text.section_titles import choose_titles

        doc = ctx.load_model(inputs["doc.normalized"], NormalizedDocument)
        result = _read_json(ctx, inputs["transform.result"])
        plan = read_model(ctx.run_dir.path / result["plan_path"], Plan)
        writer = ctx.params.writer(ctx.settings) if result.get("llm_used") else None
        chosen = choose_titles(ctx, plan, doc, effective_llm(ctx.params, ctx.settings), writer,
                               translated=plan.output_language != plan.source_language)
        return PhaseResult(outputs={"titles.chosen": PhaseOutput.json(chosen, "titles.json")},
                           summary={"origin": chosen.origin, "titles": len(chosen.titles)})


class MergePhase(Phase):
    name = "merge"
    version = "3"
    state_on_start = TranscriptState.VERIFYING

    def requires(self, params: TranscriptParams) -> list[str]:
        return ["transform.result", "doc.normalized", "source.info", "titles.chosen"]

    def provides(self, params: TranscriptParams) -> list[str]:
        return ["doc.merged", "merge.summary"]

    def config(self, params: TranscriptParams, settings: Settings) -> dict[str, Any]:
        return {"timestamps": params.timestamps}

    def run(self, ctx: PhaseContext, inputs: Mapping[str, ArtifactRef]) -> PhaseResult:
        from ..long_text.contracts import ChunkState, Plan
        from ..long_text.merge import merge_chunks
        from ..long_text.section_titles import SectionTitles, titles_for_plan
        from ..long_text.timestamps import time_links

        doc = ctx.load_model(inputs["doc.normalized"], NormalizedDocument)
        info = ctx.load_model(inputs["source.info"], SourceInfo)
        result = _read_json(ctx, inputs["transform.result"])
        plan = read_model(ctx.run_dir.path / result["plan_path"], Plan)
        titles = ctx.load_model(inputs["titles.chosen"], SectionTitles)
        if titles.titles:
            plan = titles_for_plan(plan, titles.titles)
        states = {chunk_id: read_model(ctx.run_dir.path / path, ChunkState)
                  for chunk_id, path in result["chunk_states"].items()}
        merged = merge_chunks(plan, doc, states, timestamps=ctx.params.timestamps, links=time_links(info))
        summary = merged.model_dump(mode="json", exclude={"markdown"})
        summary["usage"] = result.get("usage", {})
        summary["llm_used"] = bool(result.get("llm_used"))
        return PhaseResult(
            outputs={
                "doc.merged": PhaseOutput.text(merged.markdown, "merged.md"),
                "merge.summary": PhaseOutput.json(summary, "merge.json"),
            },
            summary={k: summary[k] for k in ("accounted_sentences", "total_sentences")},
        )


def _read_json(ctx: PhaseContext, ref: ArtifactRef) -> dict[str, Any]:
    from ..task_runtime.store import read_json

    data = read_json(ctx.path_of(ref))
    assert isinstance(data, dict)
    return data
