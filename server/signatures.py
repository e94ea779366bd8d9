"""Tool signatures built from the pipeline's declarations, so MCP advertises exactly what the runtime takes.

- ``create-run``'s parameters are the intent model's fields (same names, types, allowed values, defaults
  and descriptions) plus ``work_dir``;
- ``advance-run``'s ``action`` enumerates the action table (every name has an executor) and its extra
  parameters are the domain actions' arguments;
- ``inspect-run``'s ``detail`` enumerates the runtime's and the pipeline's inspect details.

The SDK derives a tool's input schema from ``inspect.signature``; a function built here carries a
``__signature__`` with these parameters.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field


def literal_of(names: Sequence[str]) -> Any:
    """``Literal["a", "b", ...]`` built at run time from ``names``."""
    return Literal[tuple(names)]


def intent_parameters(model: type[BaseModel]) -> list[inspect.Parameter]:
    """One keyword parameter per intent field: its type and constraints, description and default."""
    parameters: list[inspect.Parameter] = []
    for name, info in model.model_fields.items():
        constraints = [m for m in info.metadata if type(m).__module__.startswith(("annotated_types", "pydantic"))]
        annotation: Any = Annotated[(info.annotation, *constraints, Field(description=info.description))]
        default = inspect.Parameter.empty if info.is_required() else info.get_default(call_default_factory=True)
        parameters.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default,
                                            annotation=annotation))
    return parameters


def with_signature(fn: Callable[..., Any], parameters: list[inspect.Parameter], returns: Any) -> Callable[..., Any]:
    """``fn`` advertising ``parameters`` (required ones first, as Python requires) and ``returns``."""
    ordered = sorted(parameters, key=lambda p: p.default is not inspect.Parameter.empty)
    fn.__signature__ = inspect.Signature(ordered, return_annotation=returns)  # type: ignore[attr-defined]
    return fn
