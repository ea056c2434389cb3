"""Fixtures of the registry and dossier tests: the two staff members a sign-off needs."""

from __future__ import annotations

import pytest


@pytest.fixture
def preparer(factory):
    """The portal ready for reports; a coalition administrator who prepares dossiers."""
    factory.portal_ready()
    return factory.staff("admin@example.org", role="coalition_admin")


@pytest.fixture
def signer(factory, preparer):
    """A second staff member allowed to sign off: an organization administrator."""
    return factory.staff("orgadmin@example.org", role="org_admin")
