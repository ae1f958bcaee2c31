"""The configuration reference names every setting Fulcrum reads."""

from pathlib import Path

import api.app  # noqa: F401  (registers every package's settings section)
from itsm_core.settings import SECTIONS

DOC = Path(__file__).parents[1] / "docs" / "configuration.md"


def test_every_setting_is_documented() -> None:
    text = DOC.read_text()
    missing = [
        f"{cls.model_config.get('env_prefix', '')}{name}".upper()
        for cls in SECTIONS.values()
        for name in cls.model_fields
        if f"{cls.model_config.get('env_prefix', '')}{name}".upper() not in text
    ]
    assert missing == []
