"""The DAIC-WOZ data layer: readers, the corpus, checks, features, cache and synthesis."""

from core.data.corpus import Corpus, Participant
from core.data.errors import DataError

__all__ = ["Corpus", "DataError", "Participant"]
