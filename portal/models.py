"""Every model module, imported once so the metadata (migrations, tests) sees every table."""

from portal.audit import models as audit_models  # noqa: F401
from portal.notifications import models as notifications_models  # noqa: F401
from portal.officials import models as officials_models  # noqa: F401
from portal.orgs import models as orgs_models  # noqa: F401
from portal.reporter import models as reporter_models  # noqa: F401
from portal.reports import models as reports_models  # noqa: F401
from portal.staff import models as staff_models  # noqa: F401
