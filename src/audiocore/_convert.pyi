from typing import Optional, Union

from audiocore._realtime import FilterBank
from audiocore._typing import Buffer, WritableBuffer

ENCODINGS: dict[str, int]

class ConverterHandle:
    def __init__(self, in_encoding: str, in_channels: int, out_encoding: str,
                 out_channels: int, bank: Optional[FilterBank] = None,
                 soxr_rates: Optional[tuple[float, float]] = None,
                 quality: str = "high") -> None: ...
    def process(self, data: Buffer, out: Optional[WritableBuffer] = None) -> Union[bytes, int]: ...
    def flush(self) -> bytes: ...
    def reset(self) -> None: ...
    @property
    def pending_frames(self) -> float: ...
