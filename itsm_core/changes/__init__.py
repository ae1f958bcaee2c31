"""Changes (RFCs): lifecycle, CAB approvals, standard-change templates, conflicts, calendar."""
