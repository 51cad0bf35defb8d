"""Which engine answers an extraction first, and why (docs/routing.md).

`choose_route` is the whole rule, pure so it can be read and tested on its own: the job's
mode, the shape of the document, the schema's complexity and which model (if any) is
available decide. The result names the route and says why in words a caller can read;
the job's result carries both (`route`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from worker.pipeline.document import Document

RouteName = Literal["local", "local_then_llm", "llm", "byok", "trained_llm",
                    "local_cross_check", "llm_cross_check"]
ModelSource = Literal["server", "byok"]
"""Where the job's model comes from: the operator's (`llm_default_model` / provider chain)
or the caller's own key (BYOK)."""
PipelineEngine = Literal["local", "llm"]


@dataclass(frozen=True)
class DocumentShape:
    """What routing needs to know about a converted document."""

    pages: int
    ocr_pages: int
    """Pages read by OCR or a vision model rather than from a text layer."""
    has_text: bool

    @classmethod
    def of(cls, document: Document) -> DocumentShape:
        return cls(pages=len(document.pages), ocr_pages=document.ocr_pages,
                   has_text=bool(document.plain_text.strip()))

    @property
    def is_clear_text(self) -> bool:
        """Every page came from a real text layer (born-digital: a text PDF, an office or
        HTML file…) and there is text to read: the local engine sees exactly what is printed."""
        return self.pages > 0 and self.ocr_pages == 0 and self.has_text


@dataclass(frozen=True)
class SchemaShape:
    """How much a schema asks for: leaf fields, nesting, arrays of objects."""

    leaf_fields: int
    depth: int
    """1 for flat properties, 2 with one level of nested objects, …"""
    object_arrays: int

    @classmethod
    def of(cls, schema: dict[str, Any]) -> SchemaShape:
        leaves, depth, arrays = _measure(schema, 0)
        return cls(leaf_fields=leaves, depth=depth, object_arrays=arrays)

    def is_simple(self, max_fields: int) -> bool:
        return self.leaf_fields <= max_fields and self.depth <= 2 and self.object_arrays == 0

    def describe(self) -> str:
        return (f"{self.leaf_fields} fields, nesting depth {self.depth}, "
                f"{self.object_arrays} array(s) of objects")


@dataclass(frozen=True)
class Route:
    """The route an extraction takes: `name`, and `reason` in a sentence."""

    name: RouteName
    reason: str

    @property
    def model_first(self) -> bool:
        """The model answers first (the local engine answers first otherwise)."""
        return self.name in ("llm", "byok", "trained_llm", "llm_cross_check")

    @property
    def may_escalate(self) -> bool:
        """The local answer goes to the model when it misses required fields or is unsure."""
        return self.name == "local_then_llm"


def choose_route(mode: str, document: DocumentShape, schema: SchemaShape, *,
                 model: ModelSource | None, pipeline: PipelineEngine | None = None,
                 max_simple_fields: int = 12) -> Route:
    """The route for one extraction.

    `model` is None when no model is available for this job (no BYOK key, no server model,
    or a trained local pipeline that keeps its local engine). In order:
    `fast` never calls a model, BYOK included; without a model the local engine answers
    (robust mode cross-checks the text layer against the OCR reading); a caller's own model
    (BYOK) and a pipeline trained for a model are always used in standard and robust mode;
    robust mode always has the model's answer checked against local evidence; standard
    mode sends clear text with a simple schema to the local engine first, everything else
    to the model first.
    """
    if mode == "fast":
        return Route("local", "fast mode never calls a model")
    if model is None:
        return _without_model(mode, pipeline)
    robust = mode == "robust"
    check = ", checked against the local engine's evidence" if robust else ""
    if model == "byok":
        return Route("byok", f"the caller's own model{check}")
    if pipeline == "llm":
        return Route("trained_llm", f"the trained pipeline uses a model with its guidance{check}")
    if robust:
        return Route("llm_cross_check", "robust mode: the model answers and its answer is "
                                        "checked against the local engine's evidence")
    if not document.is_clear_text:
        why = ("some pages were read by OCR" if document.ocr_pages
               else "the document has no text layer to read")
        return Route("llm", f"{why}: the model answers first")
    if not schema.is_simple(max_simple_fields):
        return Route("llm", f"the schema is not simple ({schema.describe()}): "
                            "the model answers first")
    return Route("local_then_llm", "a text document with a simple schema: the local engine "
                                   "answers first, the model only when it misses a required "
                                   "field or is unsure")


def _without_model(mode: str, pipeline: PipelineEngine | None) -> Route:
    if pipeline == "local":
        return Route("local", "the trained pipeline uses the local engine")
    if pipeline == "llm":
        return Route("local", "the pipeline was trained for a model and none is available: "
                              "its local fallback answers")
    if mode == "robust":
        return Route("local_cross_check", "no model is configured: the local engine answers "
                                          "and the text layer is cross-checked against OCR")
    return Route("local", "no model is configured")


def _measure(spec: dict[str, Any], level: int) -> tuple[int, int, int]:
    """(leaf fields, depth, arrays of objects) under an object schema."""
    properties = spec.get("properties")
    if not isinstance(properties, dict) or not properties:
        return 1, level, 0
    leaves, depth, arrays = 0, level + 1, 0
    for child in properties.values():
        child = child if isinstance(child, dict) else {}
        items = child.get("items")
        if _is_object(child):
            sub = _measure(child, level + 1)
        elif isinstance(items, dict) and _is_object(items):
            sub = _measure(items, level + 1)
            sub = (sub[0], sub[1], sub[2] + 1)
        else:
            sub = (1, level + 1, 0)
        leaves, depth, arrays = leaves + sub[0], max(depth, sub[1]), arrays + sub[2]
    return leaves, depth, arrays


def _is_object(spec: dict[str, Any]) -> bool:
    kind = spec.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    return "object" in kinds or isinstance(spec.get("properties"), dict)
