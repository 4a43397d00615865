from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from higgsweb.ledger import user_budget


@login_required
@require_GET
def notifications(request):
    ctx = {"notifications": request.user.notifications.all()[:100],
           "budget": user_budget(request.user) if request.user.is_member_role else None}
    return render(request, "notifications/list.html", ctx)


@login_required
@require_POST
def notifications_read(request):
    request.user.notifications.filter(read_at__isnull=True).update(read_at=timezone.now())
    return redirect("notifications")


@require_GET
def favicon(request):
    """Browsers ask for /favicon.ico where a page names no icon (an image opened in its own tab)."""
    response = redirect(static("favicon.svg"))
    response["Cache-Control"] = "public, max-age=86400"
    return response
