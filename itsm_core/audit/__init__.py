"""The append-only, hash-chained audit log."""

from itsm_core.audit.log import record, verify_chain

__all__ = ["record", "verify_chain"]
