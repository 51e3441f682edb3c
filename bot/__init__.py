"""Core of the recording-guidance assistant: plain Python, no Rasa imports.

The Rasa actions in ``actions/`` and the command line (``python -m bot``) both
call :class:`bot.engine.Assistant`, so the chat and the CLI give the same answer.
"""

__version__ = "0.1.0"
