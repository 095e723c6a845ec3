"""``python -m recommender``: the same as the ``recommender`` command."""

from recommender.cli import main

main()
