"""Records of answers, feedback and unanswered questions (never identifiers)."""
from bot.records.store import RecordStore

__all__ = ["RecordStore"]
