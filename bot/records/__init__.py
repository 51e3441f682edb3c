"""Records of answers, feedback and unanswered questions (never identifiers)."""
