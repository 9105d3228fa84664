"""GET /notifications: the signed-in user's notifications, newest first; POST marks them all read."""

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.notifications import bp, mark_all_read, notifications_for
from app.services.clock import utcnow


@bp.get("/notifications")
def index():
    items = notifications_for(current_user._get_current_object())
    return render_template("notifications/index.html", notifications=items)


@bp.post("/notifications/read")
def read_all():
    if mark_all_read(current_user._get_current_object(), utcnow()):
        flash(_("All notifications are marked as read."), "success")
    return redirect(url_for("notifications.index"))
