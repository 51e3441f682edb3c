"""Answering: the answer contract, and one handler module for each kind of question."""
