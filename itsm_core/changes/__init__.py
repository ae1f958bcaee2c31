"""Changes (RFCs): lifecycle, CAB approvals, standard-change templates, conflicts, calendar.

The functions every caller uses — the API, remediation, background jobs, tests:

- ``service.create_change`` / ``update_change`` / ``get_change`` / ``search``: raise and
  edit normal and emergency RFCs (edits only while ``new`` or in ``assessment``);
- ``lifecycle.transition``: every state change, with its rules (``lifecycle`` documents
  the edges and why);
- ``approvals.submit_for_approval`` / ``approve`` / ``reject`` / ``vote``: the CAB
  (``quorum`` documents the default policy, four eyes and the per-group quorum);
- ``templates.create_from_template``: a pre-approved standard change, scheduled at once;
- ``conflicts.conflicts_of`` / ``overlapping``: windows overlapping on a shared CI (a
  warning on create, a block on scheduling unless a change manager forces);
- ``calendar.calendar``: changes whose window intersects a range.

Every change of state, edit and vote is written to the change's timeline
(``change_events``) and to the hash-chained audit log (``history``).
"""
