"""Redaction of patient identifiers before anything is stored or logged."""

from bot.redaction.core import (
    PLACEHOLDERS,
    RedactingFilter,
    install_log_redaction,
    redact,
    redact_prefix,
    uninstall_log_redaction,
)

__all__ = [
    "PLACEHOLDERS",
    "RedactingFilter",
    "install_log_redaction",
    "redact",
    "redact_prefix",
    "uninstall_log_redaction",
]
