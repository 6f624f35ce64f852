"""Test support that ships with kantata_async: a seeded Kantata dataset in the real wire format.

`Dataset(users=500, seed=7)` generates a deterministic account (users, account memberships,
roles, managers, skills and skill memberships, workweeks and workweek memberships, custom field
values, external references, work samples) and renders response envelopes from it exactly as
the API shapes them.
"""

from ._dataset import INCLUDES, Dataset, Include

__all__ = ["INCLUDES", "Dataset", "Include"]
