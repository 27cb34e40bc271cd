"""Configuration as core spec objects. config/loader.py builds these from YAML; the core only sees these."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from bot.core.config_checks import regex_problem, url_problem, zone_problem
from bot.core.knowledge_spec import COLLECTION_NAME, CollectionSpec, KnowledgeSpec
from bot.core.levels import Sensitivity
from bot.core.spec_base import Reachable, Strict, level
from bot.core.spec_mcp import McpServerSpec, mcp_problems, split_name

Capability = Literal["classify", "draft", "summarize", "reason"]
Tier = Literal["demo", "basic", "standard", "frontier"]
HttpMethod = Literal["GET", "POST"]
_GET: HttpMethod = "GET"
ALL_CAPABILITIES: tuple[Capability, ...] = ("classify", "draft", "summarize", "reason")
TIER_RANK: dict[str, int] = {"demo": 0, "basic": 1, "standard": 2, "frontier": 3}
SLACK_ID = r"^(\*|[UWSCG][A-Z0-9]{2,})$"
CHANNEL_ID = r"^[CG][A-Z0-9]{2,}$"
TOOL_NAMES = frozenset({"calculator", "datetime", "slack_history", "http", "ops_report"})


_level = level


class ModelSpec(Strict):
    """One model of the portfolio."""

    name: str
    kind: Literal["openai-compatible", "local-gguf"]
    enabled: bool = True
    base_url: str | None = None
    api_key_env: str | None = None
    model: str = ""
    path: str | None = None
    capabilities: list[Capability] = Field(default_factory=lambda: list(ALL_CAPABILITIES))
    tier: Tier = "standard"
    clearance: Sensitivity = Sensitivity.INTERNAL
    price_in: float = Field(0.0, ge=0, description="USD per 1M input tokens")
    price_out: float = Field(0.0, ge=0, description="USD per 1M output tokens")
    context_window: int = Field(8192, gt=0)
    max_tokens: int = Field(512, gt=0, le=32768)
    timeout: float = Field(30.0, gt=0, le=600)
    tools: bool = False
    # Does a call send data outside the deployment? None: a local-gguf model does not, any endpoint does
    # (fail closed); set false for an endpoint you run yourself (vLLM, Ollama on your network).
    external: bool | None = None

    _lv = field_validator("clearance", mode="before")(_level)

    @property
    def leaves_deployment(self) -> bool:
        return self.kind != "local-gguf" if self.external is None else self.external

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        if value is not None and (why := url_problem(value.split("?")[0])):
            raise ValueError(f"base_url {why}")
        return value

    @field_validator("api_key_env")
    @classmethod
    def _key_env(cls, value: str | None) -> str | None:
        if value is not None and not value.replace("_", "A").isalnum():
            raise ValueError("api_key_env must be the name of an environment variable, e.g. OPENAI_API_KEY")
        return value


class StepSpec(Strict):
    kind: Literal["retrieve", "tool", "generate", "check", "review", "deliver"]
    prompt: str | None = None
    capability: Capability = "draft"
    tier: Tier = "standard"
    tool: str | None = None
    collection: str | None = None
    approver_roles: list[str] | None = None
    quorum: int = Field(1, ge=1)
    timeout_minutes: int | None = Field(None, gt=0)
    to: Literal["origin", "channel", "dm"] = "origin"
    channel: str | None = Field(None, pattern=CHANNEL_ID)
    arguments: dict[str, str | int | float | bool] = Field(
        default_factory=dict, description="an MCP tool step's arguments; {goal} and {draft} are filled in")

    @model_validator(mode="after")
    def _complete(self) -> StepSpec:
        if self.kind == "tool" and self.tool not in TOOL_NAMES and split_name(self.tool or "") is None:
            raise ValueError(f"a tool step names one of {', '.join(sorted(TOOL_NAMES))} or an MCP tool "
                             f"<server>__<tool> (got {self.tool!r})")
        if self.arguments and (self.kind != "tool" or self.tool in TOOL_NAMES):
            raise ValueError("arguments: are for tool steps naming an MCP tool (built-in tools read the goal)")
        if self.kind == "deliver" and self.to == "channel" and not self.channel:
            raise ValueError("a deliver step with to: channel needs channel: C…")
        return self


class WorkflowSpec(Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$")
    title: str = ""
    description: str = ""
    examples: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    run_roles: list[str] = Field(default_factory=lambda: ["user"])
    approver_roles: list[str] = Field(default_factory=lambda: ["reviewer"])
    review: bool = True
    redact: bool = False
    language: Literal["goal", "en", "fr"] = Field("goal", description="the language of drafts and answers: the "
                                                  "goal's own, or always English or French")
    steps: list[StepSpec] = Field(default_factory=list)

    @property
    def label(self) -> str:
        return self.title or self.id.capitalize()

    @property
    def unreviewed_text(self) -> bool:
        """Posts text a model wrote that no person reviews and that is not drawn from approved documents (a
        digest): a person who starts it gets it alone, and the ask-back never offers it."""
        kinds = {s.kind for s in self.steps} or {"generate"}
        return not self.review and "generate" in kinds and "retrieve" not in kinds

    @property
    def review_step(self) -> StepSpec | None:
        return next((s for s in self.steps if s.kind == "review"), None)

    @property
    def reviewer_roles(self) -> list[str]:
        """Who decides on this workflow's drafts: the review step's ``approver_roles`` when it names them."""
        step = self.review_step
        return list(step.approver_roles) if step and step.approver_roles else list(self.approver_roles)

    @property
    def quorum(self) -> int:
        step = self.review_step
        return step.quorum if step else 1


class ReviewSpec(Strict):
    channel: str | None = Field(None, pattern=CHANNEL_ID)
    allow_self_approval: bool = False


class LimitsSpec(Strict):
    max_goal_chars: int = Field(4000, gt=0, le=40000)
    max_draft_chars: int = Field(12000, gt=0, le=150000)
    max_attempts: int = Field(3, ge=1, le=20)
    runs_per_user_per_minute: int = Field(10, ge=0, le=10000, description="goals one person may start; 0 = no limit")
    runs_per_team_per_minute: int = Field(100, ge=0, le=100000, description="goals one workspace may start; 0 = no limit")
    backpressure_seconds: float = Field(30.0, ge=0, description="tell people how many runs are ahead of theirs "
                                        "when the oldest queued job is older than this; 0 = always")


class BudgetSpec(Strict):
    user_tokens_per_day: int = Field(200_000, ge=0)
    team_tokens_per_day: int = Field(2_000_000, ge=0)


class HttpTarget(Reachable):
    name: str
    url: str = Field(pattern=r"^https?://")
    methods: list[HttpMethod] = Field(default_factory=lambda: [_GET])
    clearance: Sensitivity = Sensitivity.INTERNAL
    allow_redirects: bool = False
    allow_private: bool = False

    _lv = field_validator("clearance", mode="before")(_level)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if why := url_problem(value):
            raise ValueError(f"url {why}")
        return value


class ToolsSpec(Strict):
    http: list[HttpTarget] = Field(default_factory=list)
    http_timeout: float = Field(5.0, gt=0, le=60)
    http_max_bytes: int = Field(262_144, gt=0, le=10_000_000)
    timezone: str = "UTC"
    holidays: list[date] = Field(default_factory=list, description="days that are not business days")
    compute_timeout: float = Field(2.0, gt=0, le=30, description="CPU seconds a calculator or date call may take")
    compute_workers: int = Field(2, ge=1, le=16)
    mcp: list[McpServerSpec] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        if why := zone_problem(value):
            raise ValueError(why)
        return value

    @model_validator(mode="after")
    def _unique(self) -> ToolsSpec:
        names = [t.name for t in self.http]
        if len(names) != len(set(names)):
            raise ValueError("http target names must be unique")
        if why := mcp_problems(self.mcp):
            raise ValueError(why)
        return self

    def mcp_tools(self) -> list[str]:
        """The Maple names of every allowed MCP tool."""
        return [name for server in self.mcp for name in server.maple_names()]


class PatternSpec(Strict):
    name: str
    regex: str | None = None
    keywords: list[str] = Field(default_factory=list)
    level: Sensitivity = Sensitivity.CONFIDENTIAL

    _lv = field_validator("level", mode="before")(_level)

    @field_validator("regex")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None and (why := regex_problem(value)):
            raise ValueError(f"regex {value!r} {why}")
        return value

    @model_validator(mode="after")
    def _matches_something(self) -> PatternSpec:
        if not self.regex and not any(k.strip() for k in self.keywords):
            raise ValueError(f"pattern {self.name!r} needs a regex or keywords")
        return self


class SourceFloorSpec(Strict):
    """The least sensitivity of text read from each kind of conversation, whatever the detectors find."""

    public: Sensitivity = Sensitivity.INTERNAL
    private: Sensitivity = Sensitivity.CONFIDENTIAL
    dm: Sensitivity = Sensitivity.CONFIDENTIAL
    shared: Sensitivity = Sensitivity.CONFIDENTIAL

    _lv = field_validator("public", "private", "dm", "shared", mode="before")(_level)


class SensitivitySpec(Strict):
    default: Sensitivity = Sensitivity.INTERNAL
    patterns: list[PatternSpec] = Field(default_factory=list)
    sources: SourceFloorSpec = SourceFloorSpec()

    _lv = field_validator("default", mode="before")(_level)


class PolicySpec(Strict):
    banned_terms: list[str] = Field(default_factory=list)
    banned_action: Literal["block", "annotate"] = "block"
    new_personal_data: Literal["block", "annotate"] = "annotate"
    require_citations: list[str] = Field(default_factory=lambda: ["ask"])
    max_chars: int = Field(12000, gt=0)


class ChannelPolicySpec(Strict):
    public: Sensitivity = Sensitivity.INTERNAL
    private: Sensitivity = Sensitivity.CONFIDENTIAL
    dm: Sensitivity = Sensitivity.RESTRICTED
    shared: Sensitivity = Sensitivity.PUBLIC
    guests: Sensitivity = Sensitivity.PUBLIC

    _lv = field_validator("public", "private", "dm", "shared", "guests", mode="before")(_level)


class ScheduleSpec(Strict):
    id: str
    workflow: str
    cron: str
    goal: str
    channel: str = Field(pattern=CHANNEL_ID)
    requester: str = Field(pattern=r"^[UW][A-Z0-9]{2,}$")


class TenantsSpec(Strict):
    """Workspaces and Enterprise Grid orgs served besides the installed workspace (learned from auth.test)."""

    teams: list[Annotated[str, Field(pattern=r"^T[A-Z0-9]{2,}$")]] = Field(default_factory=list)
    enterprises: list[Annotated[str, Field(pattern=r"^E[A-Z0-9]{2,}$")]] = Field(default_factory=list)


class AuditSpec(Strict):
    anchor_file: str = ".maple/audit-anchor.jsonl"
    anchor_every_seconds: int = Field(300, gt=0)
    text_ttl_days: int = Field(30, ge=1)


RoleMembers = list[Annotated[str, Field(pattern=SLACK_ID)]]


class MapleSpec(Strict):
    """The whole configuration Maple runs with."""

    roles: dict[str, RoleMembers] = Field(default_factory=dict)
    admin_roles: list[str] = Field(default_factory=lambda: ["admin"])
    review: ReviewSpec = ReviewSpec()
    limits: LimitsSpec = LimitsSpec()
    budgets: BudgetSpec = BudgetSpec()
    models: list[ModelSpec] = Field(default_factory=list)
    workflows: list[WorkflowSpec] = Field(default_factory=list)
    classify_threshold: float = Field(0.45, ge=0, le=1)
    language: Literal["en", "fr"] = Field("en", description="what Maple speaks when a person's Slack locale is "
                                          "neither English nor French, and in channels and review messages")
    tools: ToolsSpec = ToolsSpec()
    sensitivity: SensitivitySpec = SensitivitySpec()
    policy: PolicySpec = PolicySpec()
    channels: ChannelPolicySpec = ChannelPolicySpec()
    collections: dict[Annotated[str, Field(pattern=COLLECTION_NAME)], CollectionSpec] = Field(default_factory=dict)
    knowledge: KnowledgeSpec = KnowledgeSpec()
    schedules: list[ScheduleSpec] = Field(default_factory=list)
    audit: AuditSpec = AuditSpec()
    tenants: TenantsSpec = TenantsSpec()

    @model_validator(mode="after")
    def _check_references(self) -> MapleSpec:
        known = set(self.roles)
        for role in self.admin_roles if "admin_roles" in self.model_fields_set else ():
            if role not in known:
                raise ValueError(f"admin_roles names unknown role {role!r}")
        for wf in self.workflows:
            step_roles = [r for step in wf.steps for r in step.approver_roles or []]
            for role in (*wf.run_roles, *wf.approver_roles, *step_roles):
                if role not in known:
                    raise ValueError(f"workflow {wf.id!r} names unknown role {role!r}")
            for step in wf.steps:
                if step.kind == "retrieve" and step.collection and step.collection not in self.collections:
                    raise ValueError(f"workflow {wf.id!r} reads unknown collection {step.collection!r}")
                if step.kind == "tool" and step.tool == "http" and not self.tools.http:
                    raise ValueError(f"workflow {wf.id!r} uses the http tool but tools.http lists no target")
                if step.kind == "tool" and split_name(step.tool or "") and step.tool not in self.tools.mcp_tools():
                    raise ValueError(f"workflow {wf.id!r} uses the MCP tool {step.tool!r}, which no server in "
                                     "tools.mcp allows")
        for name, collection in self.collections.items():
            for role in collection.roles:
                if role not in known:
                    raise ValueError(f"collection {name!r} names unknown role {role!r}")
        ids = [wf.id for wf in self.workflows]
        if len(ids) != len(set(ids)):
            raise ValueError("workflow ids must be unique")
        names = [m.name for m in self.models]
        if len(names) != len(set(names)):
            raise ValueError("model names must be unique")
        for sched in self.schedules:
            if sched.workflow not in ids:
                raise ValueError(f"schedule {sched.id!r} names unknown workflow {sched.workflow!r}")
        if len({s.id for s in self.schedules}) != len(self.schedules):
            raise ValueError("schedule ids must be unique")
        return self

    def workflow(self, workflow_id: str) -> WorkflowSpec | None:
        return next((wf for wf in self.workflows if wf.id == workflow_id), None)
