"""Shared test configuration: Hypothesis profiles.

Two profiles, chosen with the environment variable ``HYPOTHESIS_PROFILE``:

* ``default`` (CI): few examples, so the whole suite stays fast;
* ``thorough``: many more examples, for a slow local run before a release::

      HYPOTHESIS_PROFILE=thorough python -m pytest tests -q
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "default",
    max_examples=15,
    deadline=None,  # a gradcheck may be slow on a loaded CI machine: no flaky deadlines
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,  # a failing example can be replayed with @reproduce_failure
)
settings.register_profile(
    "thorough",
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
