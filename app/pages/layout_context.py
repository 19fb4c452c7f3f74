"""What every page's layout shows besides the page itself: the maintenance banner.

Registered on the pages blueprint for the whole app (`app_context_processor`), so error pages
and socket fragments see it too. The state is read lazily, only by the templates that show
it (layouts/base.html), through the service's one-second cache; a page whose database is not
answering still renders (it is often the error page saying so), without a banner.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db
from app.pages import bp
from app.services.system import maintenance_state

log = logging.getLogger(__name__)
_OFF: dict[str, Any] = {"enabled": False, "message": None, "since": None}


def site_maintenance() -> dict[str, Any]:
    """{enabled, message, since} for the banner; "off" when it cannot be read."""
    try:
        return {**_OFF, **maintenance_state()}
    except SQLAlchemyError:
        db.session.rollback()
        log.warning("maintenance state unreadable; page drawn without the banner")
        return dict(_OFF)


@bp.app_context_processor
def _layout_context() -> dict[str, Any]:
    return {"site_maintenance": site_maintenance}
