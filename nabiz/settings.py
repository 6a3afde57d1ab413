"""The one place that reads the environment.

Every tunable of the service lives here, as a ``NABIZ_``-prefixed variable or a ``.env`` entry, so
that the CLI, the REST app and the batch pipeline agree on defaults and nothing else calls
``os.environ``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Service settings; defaults point inside the checkout, relative overrides are from the cwd."""

    model_config = SettingsConfigDict(env_prefix="NABIZ_", env_file=".env", extra="ignore")

    data_dir: Path = Field(
        default=REPO_ROOT.parent / "shared" / "data",
        description="Mirror of the public datasets named in data/manifest.yaml.",
    )
    manifest: Path = Field(default=REPO_ROOT / "data" / "manifest.yaml")
    cache_dir: Path = Field(
        default=REPO_ROOT / ".cache",
        description="Converted base encoder and other derived files.",
    )
    model_dir: Path = Field(
        default=REPO_ROOT / "models" / "nabiz-cpu",
        description="Model directory that serve, score and predict use without --model.",
    )
    device: str = Field(default="auto", description="auto, cpu, cuda or cuda:N.")
    precision: Literal["auto", "fp32", "bf16", "int8"] = Field(
        default="auto",
        description="Inference precision; auto = bf16 on a GPU and on CPUs where bf16 beats "
        "fp32 (AMX, or AVX512-BF16 on AMD), int8 on other CPUs when the model directory holds "
        "an accepted quantization plan (`nabiz quantize`), fp32 elsewhere.",
    )
    runtime: Literal["auto", "torch", "onnx"] = Field(
        default="auto",
        description="What runs the encoder; auto = ONNX Runtime where torch would run fp32 on the "
        "CPU and the model directory holds network.onnx (`nabiz export-onnx`) and ONNX Runtime "
        "is installed (extra `onnx`), torch elsewhere.",
    )
    num_threads: int = Field(
        default=0, ge=0, description="Threads for the encoder; 0 keeps the runtime's choice."
    )

    # API limits and micro-batching
    max_items: int = Field(
        default=256, ge=1, description="Most items one predict request may carry."
    )
    max_text_chars: int = Field(default=20_000, ge=1, description="Longest text the API accepts.")
    batch_max_size: int = Field(
        default=64, ge=1, description="Most texts in one shared forward pass."
    )
    batch_max_wait_ms: float = Field(
        default=5.0, ge=0, description="How long a pass waits to fill."
    )
    batch_max_queue: int = Field(
        default=0,
        ge=0,
        description="Most texts waiting for a forward pass before the API answers 429; "
        "0: 16 passes' worth (16 × batch_max_size), and never less than max_items.",
    )

    # Data-parallel training: set by the launcher (torchrun, accelerate launch) in every process,
    # under its own names, which is why these three have no NABIZ_ prefix.
    world_size: int = Field(
        default=1, ge=1, validation_alias="WORLD_SIZE", description="Processes training together."
    )
    rank: int = Field(default=0, ge=0, validation_alias="RANK", description="This process's rank.")
    local_rank: int = Field(
        default=0, ge=0, validation_alias="LOCAL_RANK", description="Its rank on this machine."
    )

    # Triage queue and prioritization
    database_url: str = Field(default=f"sqlite:///{REPO_ROOT / 'nabiz.db'}")
    priority_policy: Path = Field(default=REPO_ROOT / "data" / "priority_policy.yaml")
    max_clock_skew_s: float = Field(
        default=300.0,
        ge=0,
        description="How far in the future a received_at may lie (a client's clock running fast); "
        "later times are a 422.",
    )

    # Real-time alerts
    alert_rules: Path = Field(
        default=REPO_ROOT / "data" / "alert_rules.yaml", description="The alert rules file."
    )
    alert_webhooks: list[str] = Field(
        default_factory=list,
        description='Webhook URLs that get every alert, as JSON: ["https://hooks.slack.com/…"].',
    )
    alert_check_interval_s: float = Field(
        default=60.0, gt=0, description="Rules are checked this often, besides on every new item."
    )
    alert_retry_base_s: float = Field(
        default=5.0, gt=0, description="First wait after a failed webhook delivery (doubles)."
    )
    alert_retry_max_s: float = Field(
        default=3600.0, gt=0, description="Longest wait between two delivery attempts."
    )
    alert_webhook_timeout_s: float = Field(default=5.0, gt=0, description="Per webhook request.")

    @field_validator("alert_webhooks")
    @classmethod
    def _http_urls(cls, urls: list[str]) -> list[str]:
        bad = [url for url in urls if not url.startswith(("http://", "https://"))]
        if bad:
            raise ValueError(f"webhook URLs must start with http:// or https://: {bad}")
        return urls

    database_timeout_s: float = Field(
        default=5.0,
        gt=0,
        description="Connect and statement timeout of the queue database; past it the queue "
        "routes answer 503 with Retry-After.",
    )
    retention_days: int = Field(
        default=0,
        ge=0,
        description="Queue items older than this many days (by arrival in the queue) are deleted "
        "by `nabiz queue purge`; 0 keeps them forever.",
    )

    # Trust: personal data, API keys, overload
    mask_personal_data: bool = Field(
        default=True,
        description="Mask national ids, IBANs, card and phone numbers and e-mail addresses "
        "before texts are stored, logged, exported or learned (nabiz.pii).",
    )
    auth: Literal["auto", "required", "off"] = Field(
        default="auto",
        description="API keys: auto = required as soon as one key exists; required = always "
        "(no key, no access); off = nobody is asked (trusted networks only).",
    )
    allow_open_bind: bool = Field(
        default=False,
        description="Let `nabiz serve` listen on a non-loopback address with no API key "
        "required. Without it such a server refuses to start.",
    )
    public_docs: bool = Field(
        default=True, description="Serve /docs, /redoc and /openapi.json without a key."
    )
    public_metrics: bool = Field(
        default=True, description="Serve /metrics without a key (else it needs `admin`)."
    )
    max_concurrent_requests: int = Field(
        default=64,
        ge=1,
        description="Requests handled at once; more get 503 with Retry-After before their body "
        "is read (probes are never refused).",
    )


def get_settings() -> Settings:
    """Read the settings afresh (tests change the environment between cases)."""
    return Settings()
