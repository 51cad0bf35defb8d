"""`JobOptions`: what a job was asked to do, typed, built once at submission.

The API builds it from the request (`build_options`), the job row stores it as JSON
(`Job.options`), and the worker loads it back (`load_options`). It is the one place
that interprets a job's mode: the OCR policy, the queue, the price class and whether
robust extraction reads the file twice are all answered here, by the options
themselves, and nowhere else.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from shared.errors import BadRequest
from shared.extraction.schema import parse_schema
from shared.files.kinds import IMAGE_KINDS
from shared.jobs.ocr_lang import ocr_language
from shared.jobs.states import INTERACTIVE_QUEUE, OCR_QUEUE, Operation

ExtractMode = Literal["fast", "standard", "robust"]
ConversionMode = Literal["default", "fast"]
OcrPolicy = Literal["never", "auto", "always"]
"""`never`: text layer only; `auto`: OCR pages without a text layer; `always`: OCR every page."""
TableFormat = Literal["markdown", "html"]

EXTRACT_MODES: tuple[str, ...] = ("fast", "standard", "robust")
CONVERSION_MODES: tuple[str, ...] = ("default", "fast")
EXTRACT_OCR_POLICY: dict[str, OcrPolicy] = {"fast": "never", "standard": "auto", "robust": "always"}
"""How each extraction mode reads pages (training reads its examples the same way)."""
MAX_PAGE_RANGE = 200
"""Characters in a `page_range` spec: long enough for any real selection, bounded for parsing."""

_RANGE_PART = re.compile(r"^\s*(\d{1,6})\s*(?:-\s*(\d{1,6})\s*)?$")


class PageRangeInvalid(BadRequest):
    code = "invalid_page_range"


def parse_page_range(spec: str) -> list[tuple[int, int]]:
    """`"1-3,7"` as 1-based inclusive spans `[(1, 3), (7, 7)]`; 400 for anything else."""
    if len(spec) > MAX_PAGE_RANGE:
        raise PageRangeInvalid(f"page_range is longer than {MAX_PAGE_RANGE} characters.")
    spans = []
    for part in spec.split(","):
        match = _RANGE_PART.match(part)
        if match is None:
            raise PageRangeInvalid(
                f"page_range {spec!r} is not a list of pages and ranges like \"1-3,7\".")
        first = int(match.group(1))
        last = int(match.group(2) or first)
        if first < 1 or last < first:
            raise PageRangeInvalid(
                f"page_range {spec!r}: pages count from 1 and a range runs low to high.")
        spans.append((first, last))
    return spans


def _normalised_range(spec: str) -> str:
    try:
        spans = parse_page_range(spec)
    except PageRangeInvalid as exc:
        raise ValueError(exc.detail) from exc
    return ",".join(f"{a}-{b}" if a != b else str(a) for a, b in spans)


PageRangeSpec = Annotated[str, AfterValidator(_normalised_range)]


def selected_pages(spec: str | None, total: int) -> list[int]:
    """The 0-based page indexes `spec` selects from a document of `total` pages, in order.

    No spec selects every page. A page beyond the document is a 400, not silently dropped:
    the caller asked for something the file does not have.
    """
    if spec is None:
        return list(range(total))
    pages: set[int] = set()
    for first, last in parse_page_range(spec):
        if last > total:
            raise PageRangeInvalid(
                f"page_range {spec!r} asks for page {last}, but the document has {total} "
                f"page{'s' if total != 1 else ''}.")
        pages.update(range(first - 1, last))
    return sorted(pages)


class SealedModel(BaseModel):
    """A BYOK model section as stored: LiteLLM model name, endpoint and limits, key sealed
    (`ModelConfig.to_options`); only present when the request sent a non-empty key."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    provider_model: str | None = None
    api_key_sealed: str | None = None
    api_base: str | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    num_retries: int | None = None
    fallback: bool = False
    """The caller opted in (`llm_fallback`): the server's chain answers when this model fails."""

    def section(self) -> dict[str, Any]:
        """The section as the model resolvers and the SSRF check read it."""
        return self.model_dump(exclude_none=True)


class TrainedPipeline(BaseModel):
    """A trained artifact's pipeline (`Artifact.pipeline`), as extraction reads it.

    `engine` is `local` (the local engine with `local` overrides) or `llm` (the model with
    `hints` and `few_shot` guidance; `local`, when training kept it, is the fallback when no
    model is available). Guidance is bounded where it is read (`Guidance.from_pipeline`), so
    it is kept as stored. Keys this model does not name are kept too, so a row round-trips.
    """

    model_config = ConfigDict(extra="allow", frozen=True, protected_namespaces=())

    engine: Literal["local", "llm"] | None = None
    variant: str | None = None
    model: str | None = None
    """The model the LLM variant was trained with (its name, never a key)."""
    local: dict[str, Any] | None = None
    """`LocalConfig` overrides for the local engine."""
    hints: Any = None
    few_shot: Any = None

    def guidance_section(self) -> dict[str, Any]:
        """The `hints` and `few_shot` as `Guidance.from_pipeline` reads them."""
        return {"hints": self.hints, "few_shot": self.few_shot}


class _Options(BaseModel):
    """What every operation shares: BYOK model sections, page control, conversion options."""

    # Rows written before the options were typed also carry a `byok` flag; it is derived now.
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    llm: SealedModel | None = None
    """The BYOK extraction model."""
    ocr: SealedModel | None = None
    """The BYOK vision model that reads pages."""
    page_range: PageRangeSpec | None = None
    """1-based pages to process (`"1-3,7"`); None: all. Only these are converted and billed."""
    ocr_lang: str | None = None
    """The language local OCR reads, one of `shared.jobs.ocr_lang.OCR_LANGUAGES` (checked and
    folded to its canonical code by `build_options`); None: the default multilingual model."""
    table_format: TableFormat = "markdown"
    """How tables are written in markdown, passed to the converters as `table_format`."""
    file_url: str | None = None
    """Where the worker fetches the file (through the outbound guard) when none was uploaded."""

    @property
    def byok(self) -> bool:
        """Every model this job may call is the caller's own (a key sent, no opt-in to the
        server's chain): billed at the BYOK rate. Otherwise the server's paid models may do
        the work, so the full rate: a key that always fails (`llm_fallback`), or a key on a
        channel the job barely uses (an `ocr_api_key` on an extraction whose values the
        server's model reads), must not buy the server's models at the BYOK price."""
        return bool(self._model_channels()) and all(
            section is not None and bool(section.api_key_sealed) and not section.fallback
            for section in self._model_channels())

    def _model_channels(self) -> list[SealedModel | None]:
        """The sections answering for each kind of model work the job can do: reading pages
        (the OCR section, else the extraction one) and, for extraction, the values."""
        reading = self.ocr or self.llm
        if isinstance(self, ExtractOptions):
            return [self.llm, reading]
        return [reading]

    @property
    def vision_model(self) -> dict[str, Any] | None:
        """The model that reads page images: the OCR section, else the extraction model's."""
        model = self.ocr or self.llm
        return model.section() if model is not None else None

    def model_sections(self) -> dict[str, SealedModel]:
        """The BYOK sections sent (`llm`, `ocr`), by name."""
        return {name: section for name, section in (("llm", self.llm), ("ocr", self.ocr))
                if section is not None}


class ExtractOptions(_Options):
    operation: Literal[Operation.EXTRACT] = Operation.EXTRACT
    mode: ExtractMode = "standard"
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    allow_partial: bool = False
    artifact_id: str | None = None
    pipeline: TrainedPipeline | None = None
    """A trained artifact's pipeline, filled in at submission (`apply_artifact`)."""

    @property
    def price_mode(self) -> str:
        return self.mode

    @property
    def ocr_policy(self) -> OcrPolicy:
        return EXTRACT_OCR_POLICY[self.mode]

    @property
    def reads_twice(self) -> bool:
        """Robust extraction reads the file twice (text layer and all-OCR) to cross-check."""
        return self.mode == "robust"

    @property
    def first_reading(self) -> OcrPolicy:
        """The OCR policy of the reading values are extracted from: robust mode's all-OCR
        reading is only the cross-check, its values come from the text layer where present."""
        return "auto" if self.reads_twice else self.ocr_policy

    def queue_for(self, kind: str) -> str:
        """Robust mode OCRs every page, and every image needs OCR: both go to `ocr`."""
        return OCR_QUEUE if self.mode == "robust" or kind in IMAGE_KINDS else INTERACTIVE_QUEUE


class MarkdownOptions(_Options):
    operation: Literal[Operation.TO_MARKDOWN] = Operation.TO_MARKDOWN
    conversion_mode: ConversionMode = "default"

    @property
    def price_mode(self) -> str:
        return self.conversion_mode

    @property
    def ocr_policy(self) -> OcrPolicy:
        return "never" if self.conversion_mode == "fast" else "auto"

    @property
    def reads_twice(self) -> bool:
        return False

    @property
    def first_reading(self) -> OcrPolicy:
        return self.ocr_policy

    def queue_for(self, kind: str) -> str:
        """Images need OCR (`ocr`) unless fast mode skips it."""
        if kind in IMAGE_KINDS and self.conversion_mode != "fast":
            return OCR_QUEUE
        return INTERACTIVE_QUEUE


JobOptions = Annotated[ExtractOptions | MarkdownOptions, Field(discriminator="operation")]
_ADAPTER: TypeAdapter[ExtractOptions | MarkdownOptions] = TypeAdapter(JobOptions)


def load_options(operation: str, stored: dict[str, Any]) -> ExtractOptions | MarkdownOptions:
    """A job row's options, typed; the row's `operation` column is the discriminator."""
    return _ADAPTER.validate_python({**stored, "operation": operation})


def stored_options(options: ExtractOptions | MarkdownOptions) -> dict[str, Any]:
    """The options as the job row keeps them (JSON; `operation` lives in its own column)."""
    return options.model_dump(mode="json", by_alias=True, exclude_none=True,
                              exclude={"operation"})


def build_options(
    *,
    operation: Operation | str,
    schema: str | dict[str, Any] | None = None,
    mode: str | None = None,
    conversion_mode: str | None = None,
    allow_partial: bool = False,
    artifact_id: str | None = None,
    llm: Any = None,
    ocr: Any = None,
    page_range: str | None = None,
    ocr_lang: str | None = None,
    table_format: str | None = None,
    file_url: str | None = None,
) -> ExtractOptions | MarkdownOptions:
    """Check and normalise a request's options; 400 on anything a worker could not run.

    `llm` and `ocr` are `ModelConfig`s (their keys are sealed here). With an artifact and
    no mode sent, the mode stays unset until `apply_artifact` fills in the artifact's.
    """
    if page_range:
        parse_page_range(page_range)  # its own 400 code, before the model's generic one
    values: dict[str, Any] = {"operation": operation, "page_range": page_range or None,
                              "ocr_lang": ocr_language(ocr_lang) if ocr_lang else None,
                              "file_url": file_url}
    if table_format:
        values["table_format"] = table_format
    if operation == Operation.EXTRACT:
        if mode and mode not in EXTRACT_MODES:
            raise BadRequest("mode must be one of: fast, standard, robust.")
        if mode:
            values["mode"] = mode
        values.update(allow_partial=allow_partial, artifact_id=artifact_id)
        if schema is not None or not artifact_id:
            values["schema"] = parse_schema(schema)
    else:
        conversion_mode = conversion_mode or mode or "default"
        if conversion_mode not in CONVERSION_MODES:
            raise BadRequest("conversion_mode must be one of: default, fast.")
        values["conversion_mode"] = conversion_mode
    for name, config in (("llm", llm), ("ocr", ocr)):
        section = config.to_options() if config is not None else None
        if section:
            values[name] = section
    try:
        return _ADAPTER.validate_python(values)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'][1:])) or 'options'}: {e['msg']}"
                             for e in exc.errors())
        raise BadRequest(problems, code="invalid_request") from exc


def extract_options_for_training(mode: str, schema: dict[str, Any],
                                 stored: dict[str, Any] | None) -> ExtractOptions:
    """What a training job does to each example, as options: an extraction in the job's mode
    with its schema and BYOK model (`stored`: the training job row's `options`, `{"llm"?}`)."""
    return ExtractOptions.model_validate({"mode": mode, "schema": schema,
                                          "llm": (stored or {}).get("llm")})


def mode_was_sent(options: ExtractOptions) -> bool:
    """Whether the request chose the mode (an artifact's own mode applies otherwise)."""
    return "mode" in options.model_fields_set
