"""Core of the recording-guidance assistant: plain Python, no Rasa imports.

Layers: ``understanding`` (text to an analysis), ``answering`` (an analysis to
an answer), ``knowledge`` (the guidance as validated data), ``redaction``
(identifiers out before anything is kept), ``records`` (what was asked and
how it helped), ``serving`` (command line and chat page). The Rasa actions in
``actions/`` and the command line both call
:class:`bot.answering.engine.Assistant`, so they give the same answer.
"""

__version__ = "0.2.0"
