"""Incidents: lifecycle, priority, assignment, timeline, parent/child and merge.

Import the concept you need from its module (``lifecycle.transition``,
``service.create_incident``…); this package file stays empty so that importing the
enumerations never drags in the ORM.
"""
