"""The metric store: series, raw samples and 5-minute roll-ups in Fulcrum's database.

- :mod:`collectors.store.writer` — ``write_samples(session, samples)``, set-based and
  idempotent (a re-written sample is ignored).
- :mod:`collectors.store.retention` — ``apply_retention(session, settings, now)``: roll raw
  samples into 5-minute buckets, expire raw and roll-ups (``[metrics]`` settings).
- :mod:`collectors.store.frames` — ``read_frame(...)`` and ``series_frame(...)``: pandas
  DataFrames for analytics and notebooks.
- :mod:`collectors.store.queries` — what the HTTP API lists and reads.

Kept import-light on purpose (no pandas here): ``api.models`` imports the models.
Importing the package registers the ``[collectors]`` and ``[metrics]`` settings sections,
so the API and the CLI accept them in a configuration file.
"""

import collectors.settings  # noqa: F401
