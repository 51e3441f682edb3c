"""Rasa-specific add-ons (kept out of ``bot/``, which must not import Rasa)."""
