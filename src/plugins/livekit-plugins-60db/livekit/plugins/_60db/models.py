"""Names the 60db speech services accept, as ``Literal`` types for editors and checkers."""

from typing import Literal

STTEncodings = Literal["mulaw", "linear", "LINEAR16"]
"""Audio encodings of the STT socket. ``"LINEAR16"`` (the seed's spelling) and ``"linear"``
(the API reference's) are the same 16-bit little-endian PCM."""

STTSampleRates = Literal[8000, 16000, 24000, 44100, 48000]

STTLanguages = Literal["en", "es", "fr", "de", "it", "pt", "nl", "hi", "ja", "ko", "zh", "ar",
                       "ru", "tr", "pl"]
"""Common language codes; any code the service knows is accepted (up to five)."""

TTSEncodings = Literal["LINEAR16", "MULAW"]
"""Encodings the plugin asks the TTS service for. The plugin always emits 16-bit PCM to
LiveKit: μ-law is decoded by audiocore."""

TTSSampleRates = Literal[8000, 16000, 24000, 48000]
"""Rates the TTS service produces for LINEAR16 (MULAW: 8000 only). Other output rates are
reached by resampling the nearest of these through audiocore."""
