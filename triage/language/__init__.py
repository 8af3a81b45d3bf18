"""The language layer every check shares: clauses, concepts, negation, frames."""

from .clauses import Clause, Mention, clauses
from .frames import Statement, find_statement
from .lexicon import Frame, Lexicon, load_lexicon

__all__ = ["Clause", "Frame", "Lexicon", "Mention", "Statement", "clauses", "find_statement", "load_lexicon"]
