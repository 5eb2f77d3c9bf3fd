"""Process logging: one JSON object per line, with personal data scrubbed.

Code should never log personal data in the first place (log ids, not e-mails); the
:class:`PersonalDataFilter` is the safety net that masks e-mail addresses, phone numbers and
card-like digit runs that slip into a message or an extra field anyway.
"""

from __future__ import annotations

import logging
import re
import sys

from pythonjsonlogger.json import JsonFormatter

__all__ = ["PersonalDataFilter", "configure_logging", "get_logger", "scrub"]

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_DIGIT_RUN = re.compile(r"(?<![\w.:])\+?\(?\d[\d ()./-]{7,}\d(?![\w:])")
_MIN_DIGITS = 9  # dates and times have 8 or fewer; phones and cards have more
_RESERVED = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message"}


def scrub(text: str) -> str:
    """Mask e-mail addresses and long digit runs (phones, cards) in ``text``."""
    text = _EMAIL.sub("[email]", text)
    return _DIGIT_RUN.sub(_mask_long_numbers, text)


def _mask_long_numbers(match: re.Match[str]) -> str:
    digits = sum(ch.isdigit() for ch in match.group(0))
    return "[number]" if digits >= _MIN_DIGITS else match.group(0)


class PersonalDataFilter(logging.Filter):
    """Masks personal data in a record's message, arguments and extra fields."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = scrub(record.getMessage())
        record.args = None
        for key, value in list(record.__dict__.items()):
            if key not in _RESERVED and isinstance(value, str):
                setattr(record, key, scrub(value))
        return True


def configure_logging(level: str = "INFO", *, json_format: bool = True) -> None:
    """Send aimsight's logs to stderr, as JSON lines by default, with the PII filter on."""
    handler = logging.StreamHandler(sys.stderr)
    formatter: logging.Formatter
    if json_format:
        formatter = JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            timestamp=False,
        )
    else:
        formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    handler.setFormatter(formatter)
    handler.addFilter(PersonalDataFilter())
    root = logging.getLogger("aimsight")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def get_logger(name: str) -> logging.Logger:
    """A logger under the ``aimsight`` namespace."""
    return logging.getLogger(name if name.startswith("aimsight") else f"aimsight.{name}")
