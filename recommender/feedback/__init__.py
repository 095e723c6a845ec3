"""Learning from readers: events from the widget, interleaving experiments, click reports,
weight tuning, and a reader simulator that proves the loop.

    events.py        validation and the append-only event store beside an index
    settings.py      [events] and [experiment] of recommender.toml
    serving.py       POST /events, rate limits, experiment lists for `recommender serve`
    interleaving.py  team-draft interleaving, click attribution, sign test, impressions needed
    clicks.py        click-through report (Wilson intervals, PNG plots)
    features.py      ranking components of (source, candidate) pairs, for tuning
    tune.py          ranking weights from a gold file or from clicks (position-bias corrected)
    simulator.py     simulated readers with known preferences and position bias
"""
