"""Data contracts of long-text transformation: requests, plans, chunk states, verification, merge result.

These models are persisted in the work_dir (``plan.json``, ``chunks/<plan_id>/<chunk_id>.json``) or cross
the boundary to the processing loop and the quality report, so unknown fields are refused and the
persisted ones carry a ``schema_version``.

Invariants of a ``Plan``:
- ``chunks`` are in core order and their core ranges ``[core_start, core_end)`` partition the document's
  sentence indices ``0..n-1`` exactly: every sentence belongs to exactly one core.
- A chunk id is plan-local (``<plan_id>-c0003``), so ids never collide across replans.
- After a replan, ``chunks`` still lists every chunk, including the finished ones kept from earlier plans;
  ``inherited`` maps those chunk ids to the plan id whose ``chunks/<plan_id>/`` folder holds their state.
- Context ranges (``context_before_start .. core_start`` and ``core_end .. context_after_end``) are
  reference-only neighbour sentences taken from the source; they never belong to the chunk's output.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

SCHEMA_VERSION = 1

TransformMode = Literal["clean", "translate", "bilingual"]
# "format" is the deterministic (no-LLM) operation; "structure" asks the model for section headings too.
Operation = Literal["format", "clean", "translate", "bilingual", "structure"]
PlanPath = Literal["deterministic", "short", "long"]
Remedy = Literal["repair", "replan", "fallback"]
ViolationCode = Literal[
    "length_ratio",
    "missing_anchor",
    "missing_glossary_term",
    "wrong_script",
    "bilingual_pairing",
    "truncated",
    "repetition_loop",
    "leaked_preamble",
    "heading_shape",
    "seam_duplicate",
    "speaker_turns",
    "empty_output",
    "replan_limit",
    # subtitle cue groups (``cue_verify``): one numbered line out per line in
    "line_count",
    "empty_line",
    "untranslated_line",
    "line_length",
]
# awaiting_agent: a task for this chunk is handed to the calling agent; submitted: its answer is saved
# and waits to be verified (both only with the agent as the writer).
ChunkStatus = Literal["pending", "running", "succeeded", "fallback", "failed", "superseded", "awaiting_agent",
                      "submitted"]
FINAL_CHUNK_STATUSES: frozenset[str] = frozenset({"succeeded", "fallback"})


class ContractModel(BaseModel):
    """Base: unknown fields are refused so a hand-edited file fails loudly."""

    model_config = ConfigDict(extra="forbid")


class GlossaryTerm(ContractModel):
    """A term whose spelling must survive the transformation (a name, brand, acronym, user term)."""

    term: str = Field(min_length=1)
    source: Literal["title", "description", "chapter", "repeated", "user"]


class TransformRequest(ContractModel):
    """What the user asked for (validated by the pipeline's intent: translate and bilingual name a target)."""

    mode: TransformMode = "clean"
    source_language: str | None = None
    target_language: str | None = None
    user_glossary: list[str] = Field(default_factory=list)
    # Ask the model to add "## " headings where the topic changes (only used when there are no chapters).
    structure: bool = False


class ChunkSpec(ContractModel):
    """One chunk: its core sentence range (what it transforms) and its reference-only context ranges."""

    chunk_id: str
    index: int = Field(ge=0)  # position in its plan's ``chunks``
    core_start: int = Field(ge=0)
    core_end: int = Field(ge=1)  # exclusive
    context_before_start: int = Field(ge=0)
    context_after_end: int = Field(ge=1)
    chapter_index: int | None = None  # the chapter the core starts in
    starts_chapter: bool = False  # the core's first sentence is the first sentence of its chapter
    source_tokens: int = Field(ge=0)

    @model_validator(mode="after")
    def _ranges_are_ordered(self) -> ChunkSpec:
        if not (self.context_before_start <= self.core_start < self.core_end <= self.context_after_end):
            raise ValueError(
                "ranges must satisfy context_before_start <= core_start < core_end <= context_after_end"
            )
        return self

    @property
    def sentence_count(self) -> int:
        return self.core_end - self.core_start


class ChunkContract(ContractModel):
    """Sizes and bounds every chunk of a plan is held to.

    ``expected_output_ratio`` is output tokens per source token; ``min/max_length_ratio`` bound the
    output's weighted character length (see ``languages.weighted_length``) relative to the source's.
    """

    operation: Operation
    max_source_tokens: int = Field(ge=1)
    context_tokens: int = Field(ge=0)
    expected_output_ratio: float = Field(gt=0)
    max_output_tokens: int = Field(ge=1)
    min_length_ratio: float = Field(ge=0)
    max_length_ratio: float = Field(gt=0)


class Plan(ContractModel):
    """The ``plan.current`` artifact: how the document is transformed, chunk by chunk."""

    schema_file: ClassVar[str] = "plan"

    schema_version: int = SCHEMA_VERSION
    plan_id: str
    parent_plan_id: str | None = None
    path: PlanPath
    mode: TransformMode
    source_language: str | None = None
    target_language: str | None = None
    # The language the transformed text is written in (the target for translate and bilingual with an
    # LLM, else the source language). Everything downstream (prompts, checks, front matter) reads this.
    output_language: str | None = None
    operations: list[Operation]
    contract: ChunkContract
    chunks: list[ChunkSpec]
    chapter_titles: list[str | None] = Field(default_factory=list)
    glossary: list[GlossaryTerm] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list)
    inherited: dict[str, str] = Field(default_factory=dict)

    def chunk(self, chunk_id: str) -> ChunkSpec:
        """The chunk with that id (KeyError when the plan has none)."""
        for chunk in self.chunks:
            if chunk.chunk_id == chunk_id:
                return chunk
        raise KeyError(chunk_id)

    def state_plan_id(self, chunk_id: str) -> str:
        """The plan id whose ``chunks/<plan_id>/`` folder holds this chunk's state."""
        return self.inherited.get(chunk_id, self.plan_id)

    def own_chunks(self) -> list[ChunkSpec]:
        """The chunks this plan must process (those not inherited from an earlier plan)."""
        return [chunk for chunk in self.chunks if chunk.chunk_id not in self.inherited]


class Violation(ContractModel):
    code: ViolationCode
    detail: str
    remedy: Remedy


class Verification(ContractModel):
    ok: bool
    violations: list[Violation] = Field(default_factory=list)
    metrics: dict[str, float] = Field(default_factory=dict)


class Attempt(ContractModel):
    number: int = Field(ge=1)
    kind: Literal["initial", "repair", "retry"]
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_s: float | None = None
    violations: list[Violation] = Field(default_factory=list)
    error: str | None = None  # error code or category when the request itself failed


class AgentTurn(ContractModel):
    """The task handed to the calling agent for one chunk (attempt ``attempt``) and, once given, its answer.

    The rendered prompts are stored with it, so the same task comes back after a restart and reading it
    needs neither the plan nor the document.
    """

    attempt: int = Field(ge=1)
    kind: Literal["initial", "repair"]
    violations: list[Violation] = Field(default_factory=list)
    previous_output: str | None = None
    operation: str | None = None
    max_output_tokens: int | None = None
    system: str | None = None
    prompt: str | None = None
    submission: str | None = None


class ChunkState(ContractModel):
    """One chunk's state file: ``chunks/<plan_id>/<chunk_id>.json``.

    ``output`` is set only when the chunk is final (``succeeded`` or ``fallback``); a fallback stores the
    deterministic formatting of the core with ``output_origin="deterministic"``.
    """

    schema_file: ClassVar[str] = "chunk_state"

    schema_version: int = SCHEMA_VERSION
    plan_id: str
    chunk_id: str
    status: ChunkStatus = "pending"
    attempts: list[Attempt] = Field(default_factory=list)
    output: str | None = None
    output_origin: Literal["llm", "deterministic"] | None = None
    final_violations: list[Violation] = Field(default_factory=list)
    # The run's cumulative LLM usage when this state was written (counters only grow), so a resumed run
    # continues its budget and totals from the latest committed chunk instead of from zero.
    run_usage: dict[str, int] = Field(default_factory=dict)
    writer: Literal["endpoint", "agent"] | None = None  # who wrote ``output`` when it is model text
    agent_turn: AgentTurn | None = None  # only while the chunk waits for (or holds) an agent's answer

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_CHUNK_STATUSES and self.output is not None


class MergedDocument(ContractModel):
    """The merged body (no front matter, no title) and how each chunk contributed to it."""

    markdown: str
    accounted_sentences: int
    total_sentences: int
    llm_chunks: list[str] = Field(default_factory=list)
    fallback_chunks: list[str] = Field(default_factory=list)
    degraded_chunks: list[str] = Field(default_factory=list)  # LLM output kept despite violations
    seam_repairs: int = 0
