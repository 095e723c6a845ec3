"""Hugo and Jekyll sites read the way their generators read them.

:func:`detect` finds the generator at a site root from its configuration file;
:func:`read_site` returns the articles the generator publishes, each with the URL it publishes
and the generator's own page identity as id (Hugo ``.File.Path``, Jekyll ``page.path``).
"""

from __future__ import annotations

from recommender.sites.base import Site, SiteRead, Skipped
from recommender.sites.detect import default_index, detect, read_site, site_index

__all__ = ["Site", "SiteRead", "Skipped", "default_index", "detect", "read_site", "site_index"]
