"""Kept so that ``from xai_helpers.exercises import check_...`` in the notebooks keeps working:
the checkers live in :mod:`xai_helpers.course.exercises`."""
from .course.exercises import *  # noqa: F401,F403
from .course.exercises import __all__  # noqa: F401
