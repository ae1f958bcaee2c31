"""Source adapters: each maps one source's payload onto ``CanonicalAlert``.

Alertmanager's webhook (``alertmanager``) and the generic JSON endpoint (``generic``);
collectors and analytics build canonical alerts themselves and hand them to
``alerting.intake.PipelineSink``.
"""
