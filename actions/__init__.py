"""Rasa SDK actions (see actions/actions.py)."""


def warm_up() -> None:
    """Load the core and open the records before the first turn (called when actions run in the Rasa process)."""
    from bot.answering.engine import shared
    from bot.records.recorder import shared_recorder

    shared()
    shared_recorder()
