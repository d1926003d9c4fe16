"""The telephony suites' shared fixture: a phone line set up as helpers.setup_line says."""
import pytest

from tests.telephony.helpers import setup_line


@pytest.fixture
def line(app):
    return setup_line()
