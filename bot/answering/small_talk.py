"""Replies that need no knowledge: greetings, help, out of scope, reset, typed feedback."""

from __future__ import annotations

import re

NOT_UNDERSTOOD = 0.35  # a weak guess at small talk is worse than saying so
# The words that start a new conversation; the chat page is served this list.
RESET_WORDS = ("new situation", "start again", "start over", "restart", "reset", "clear")
NEW_SITUATION = re.compile(r"^\s*(" + "|".join(map(re.escape, RESET_WORDS)) + r")\s*[.!]?\s*$", re.I)

OUT_OF_SCOPE_POINTER = (
    "That is outside what I cover: I only advise on patients, relatives or staff recording images, video "
    "or audio in imaging and radiotherapy. For radiation doses and exposure factors ask your radiation "
    "protection supervisor or medical physics; for rotas and leave, your line manager; for IT or PACS "
    "faults, the IT service desk; for clinical technique, your modality lead or local protocols."
)
SMALL_TALK = {
    "greet": 'Hello. Describe what is happening (for example "relative started filming during set-up") '
    "and I will say what to do, what to say, why, and what to record.",
    "thanks": 'You\'re welcome. Reply "new situation" whenever you need me again.',
    "goodbye": "Goodbye. Remember to make any note or incident report before the end of your shift.",
    "help": "I help imaging and radiotherapy staff when patients, relatives or staff record images, video or "
    'audio. Describe the situation in your own words; ask what a clause says ("what does 5.7 say", '
    '"SCoR point vi"); ask what our policy says ("our policy on filming in ultrasound"); compare '
    'the 2014 and 2019 guidance; or say "quiz me". I give guidance, not legal advice. Please do '
    "not type patient names, NHS numbers or dates of birth.",
    "affirm": 'Thanks. Describe the situation, or reply "help" to see what I can do.',
    "deny": "No problem. Describe the situation in your own words when you are ready.",
    "feedback": "Thank you for the feedback; it helps the department improve these answers.",
    "stop": 'Stopped. Describe a situation or reply "help" whenever you need me.',
}


def feedback_polarity(text: str) -> bool | None:
    """Typed feedback: True (helpful), False (not), None (cannot tell)."""
    lowered = f" {text.lower()} "
    if re.search(r"\b(not|wrong|unhelpful|useless|bad|incorrect|didn'?t|no)\b", lowered):
        return False
    if re.search(r"\b(helpful|useful|great|good|thanks|thank|spot on|perfect|helped|right)\b", lowered):
        return True
    return None
