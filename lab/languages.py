"""Which language codes the lab accepts for decoding: Whisper's codes, SeamlessM4T's 3-letter codes and any
language a catalog entry lists. Checked in `AsrOptions`, so CLI, dashboard and API refuse the same way."""

from __future__ import annotations

from functools import cache

from lab.errors import OptionError

# whisper.tokenizer.LANGUAGES (the same in faster-whisper and transformers), copied so the check needs no runtime
WHISPER_LANGUAGES: tuple[str, ...] = (
    "en", "zh", "de", "es", "ru", "ko", "fr", "ja", "pt", "tr", "pl", "ca", "nl", "ar", "sv", "it", "id", "hi",
    "fi", "vi", "he", "uk", "el", "ms", "cs", "ro", "da", "hu", "ta", "no", "th", "ur", "hr", "bg", "lt", "la",
    "mi", "ml", "cy", "sk", "te", "fa", "lv", "bn", "sr", "az", "sl", "kn", "et", "mk", "br", "eu", "is", "hy",
    "ne", "mn", "bs", "kk", "sq", "sw", "gl", "mr", "pa", "si", "km", "sn", "yo", "so", "af", "oc", "ka", "be",
    "tg", "sd", "gu", "am", "yi", "lo", "uz", "fo", "ht", "ps", "tk", "nn", "mt", "sa", "lb", "my", "bo", "tl",
    "mg", "as", "tt", "haw", "ln", "ha", "ba", "jw", "su", "yue",
)

# ISO 639-1 (what the lab passes around) → the ISO 639-3 codes SeamlessM4T's decoder is keyed by
# fmt: off
SEAMLESS_LANGS = {
    "ar": "arb", "bg": "bul", "bn": "ben", "ca": "cat", "cs": "ces", "cy": "cym", "da": "dan", "de": "deu",
    "el": "ell", "en": "eng", "es": "spa", "et": "est", "fa": "pes", "fi": "fin", "fr": "fra", "ga": "gle",
    "he": "heb", "hi": "hin", "hr": "hrv", "hu": "hun", "id": "ind", "is": "isl", "it": "ita", "ja": "jpn",
    "ko": "kor", "lt": "lit", "lv": "lvs", "ms": "zsm", "mt": "mlt", "nl": "nld", "no": "nob", "pl": "pol",
    "pt": "por", "ro": "ron", "ru": "rus", "sk": "slk", "sl": "slv", "sr": "srp", "sv": "swe", "sw": "swh",
    "ta": "tam", "te": "tel", "th": "tha", "tl": "tgl", "tr": "tur", "uk": "ukr", "ur": "urd", "uz": "uzn",
    "vi": "vie", "zh": "cmn",
}
# fmt: on


@cache
def _fixed() -> frozenset[str]:
    return frozenset(WHISPER_LANGUAGES) | frozenset(SEAMLESS_LANGS) | frozenset(SEAMLESS_LANGS.values())


def known_languages() -> frozenset[str]:
    """Base codes accepted for decoding; the catalog (which may gain models) can add to Whisper's."""
    from lab.catalog import catalog

    listed = {lang.lower() for spec in catalog().values() for lang in spec.languages if lang != "multi"}
    return _fixed() | listed


def is_known_language(code: str) -> bool:
    """A known code, with an optional region: 'en', 'en-US', 'zh_TW', 'eng'."""
    return code.strip().lower().replace("_", "-").split("-")[0] in known_languages()


def check_language(code: str) -> None:
    if not is_known_language(code):
        raise OptionError(f"unknown language code '{code}'; use an ISO 639-1 code such as en, es, zh (Whisper's list).")
