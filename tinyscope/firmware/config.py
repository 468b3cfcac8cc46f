"""The record of one firmware configuration, and its hash (the build cache key)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class BuildConfig:
    """Everything that changes the firmware bytes, except the model itself (hashed separately)."""

    target: str = "stm32h743"
    place: dict[str, str] = field(default_factory=dict)  # overrides of the target's default placement
    icache: bool = True
    dcache: bool = True
    libc: str = "nano"
    opt: str = "-O3"
    stack_size: int = 16384
    input_path: str | None = None
    seed: int = 0
    input_shape: tuple[int, ...] | None = None  # an ONNX model's input dimensions (frontend.load)

    def as_dict(self) -> dict:
        return asdict(self)
