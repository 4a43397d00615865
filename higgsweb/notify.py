"""Notifications in the app, and by email when EMAIL_HOST is configured: a budget passing
its soft threshold, and a job finishing while its owner is away from the gallery."""

from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.dispatch import receiver
from django.urls import reverse
from django.utils import timezone
from django_q.tasks import async_task

from generations import signals as generation_signals
from generations.models import Feedback, Generation
from higgsweb.models import Budget, Notification, User

# Gallery pages and the cards they poll count as "looking"; record it at most this often.
SEEN_EVERY = timedelta(seconds=30)
GALLERY_URL_NAMES = {"gallery", "generation-card"}


def away_after():
    return timedelta(minutes=getattr(settings, "NOTIFY_AWAY_MINUTES", 5))


def is_away(user, now=None):
    seen = user.last_seen_gallery_at
    return seen is None or seen < (now or timezone.now()) - away_after()


def touch_gallery(user, now=None):
    """Note that `user` has the gallery open; one cheap guarded UPDATE at most every 30 s.
    The user row loaded for this request already says when, so most polls write nothing."""
    now = now or timezone.now()
    if user.last_seen_gallery_at and user.last_seen_gallery_at >= now - SEEN_EVERY:
        return
    user.last_seen_gallery_at = now
    User.objects.filter(Q(last_seen_gallery_at__isnull=True) | Q(last_seen_gallery_at__lt=now - SEEN_EVERY),
                        pk=user.pk).update(last_seen_gallery_at=now)


class LastSeenMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        if match and match.url_name in GALLERY_URL_NAMES and request.user.is_authenticated \
                and response.status_code < 400:
            touch_gallery(request.user)
        return response


def notify(user, kind, message, url=""):
    notification = Notification.objects.create(user=user, kind=kind, message=message[:500], url=url)
    if getattr(settings, "NOTIFY_BY_EMAIL", False) and user.email:
        transaction.on_commit(lambda: async_task("higgsweb.notify.send_email", notification.pk))
    return notification


def send_email(notification_id):
    notification = Notification.objects.select_related("user").filter(pk=notification_id, emailed_at=None).first()
    if notification is None:
        return
    link = settings.PUBLIC_BASE_URL + notification.url if notification.url else settings.PUBLIC_BASE_URL
    send_mail(f"higgsweb: {notification.get_kind_display().lower()}", f"{notification.message}\n\n{link}\n",
              None, [notification.user.email])
    Notification.objects.filter(pk=notification.pk).update(emailed_at=timezone.now())


def budget_warning(budget):
    message = (f"{budget} has used {budget.spent:.3f} credits, past its warning threshold of "
               f"{budget.soft_limit:.3f}" + (f" (hard limit {budget.hard_limit:.3f})." if budget.hard_limit else "."))
    if budget.scope == Budget.Scope.USER:
        recipients = [budget.user]
    else:
        recipients = list(User.objects.filter(Q(role=User.Role.ADMIN) | Q(is_superuser=True), is_active=True))
    for user in recipients:
        notify(user, Notification.Kind.BUDGET, message, reverse("notifications"))


@receiver(generation_signals.status_changed, dispatch_uid="notify-job-finished")
def job_finished(sender, generation, old, new, **kwargs):
    if new not in Generation.FINAL or kwargs.get("source") == Generation.Source.USER:
        return
    # A webhook reads the owner in the same query as the job, just before this, and says so
    # (`owner_fresh`); any other instance's owner may be old, so it is read now.
    owner = generation.owner if getattr(generation, "owner_fresh", False) else User.objects.get(pk=generation.owner_id)
    if not is_away(owner):
        return
    outcome = {Generation.Status.COMPLETED: "is ready", Generation.Status.FAILED: "failed",
               Generation.Status.NSFW: "was blocked by moderation", Generation.Status.CANCELED: "was canceled"}[new]
    prompt = generation.prompt[:60] or generation.model_id
    notify(owner, Notification.Kind.JOB, f"Your generation “{prompt}” {outcome}.", generation.get_absolute_url())


@receiver(generation_signals.feedback_given, dispatch_uid="notify-feedback-given")
def feedback_given(sender, feedback, **kwargs):
    """The gallery's creator hears of a client's approval or request for changes."""
    gallery = feedback.item.gallery
    owner = gallery.created_by
    if owner is None or not owner.is_active or not owner.is_member_role:
        return
    said = f": “{feedback.comment[:120]}”" if feedback.comment else "."
    verb = "approved" if feedback.verdict == Feedback.Verdict.APPROVED else "asked for changes on"
    notify(owner, Notification.Kind.FEEDBACK, f"{feedback.name} {verb} “{feedback.item.team_label}” in "
           f"“{gallery.name}”{said}", reverse("gallery-detail", args=[gallery.pk]) + f"#item-{feedback.item.pk}")
