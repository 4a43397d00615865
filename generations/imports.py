"""Importing the web app's history (fnf accounts): the page where a team member starts an import
into one of their projects and watches its progress (generations/history.py does the work)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HTMX_STOP_POLLING

from generations import history
from generations.forms import HistoryImportForm
from generations.models import HistoryImport
from higgsweb.access import found


def _get_import_for_user(request, pk):
    return get_object_or_404(HistoryImport.objects.for_user(request.user).select_related("account", "project"),
                             pk=pk)


@login_required
@require_http_methods(["GET", "POST"])
def import_list(request):
    if not request.user.is_member_role:
        raise PermissionDenied
    form = HistoryImportForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            history.start(owner=request.user, **form.cleaned_data)
        except history.AlreadyRunning:
            form.add_error("account", "An import of this account is under way; wait for it to finish.")
        else:
            messages.success(request, "Importing. Items appear in the gallery as they are saved here.")
            return redirect("history-imports")
    imports = HistoryImport.objects.for_user(request.user).select_related("account", "project", "owner")[:20]
    return render(request, "providers/imports.html", {"form": form, "imports": imports})


@login_required
@found(_get_import_for_user)
@require_GET
def import_progress(request, run):
    """What a running import's row polls; 286 once it has finished."""
    response = render(request, "providers/imports.html#import-row", {"run": run})
    if not run.is_running:
        response.status_code = HTMX_STOP_POLLING
    return response
