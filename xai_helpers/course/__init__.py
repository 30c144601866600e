"""For courses: checkers for the coding exercises (specific feedback, never the answer) and quick
quizzes on classic misconceptions.

- ``exercises``  the ``check_*`` functions the notebooks' graded cells call
- ``quiz``       multiple-choice questions with instant feedback (``xh.quiz``, ``xh.answer``)

The student copies in ``exercises/`` are made by ``tools/make_exercises.py``.
"""
