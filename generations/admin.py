from django import forms
from django.contrib import admin

from generations.models import (
    ApiToken,
    Feedback,
    Gallery,
    GalleryItem,
    Generation,
    HistoryImport,
    IdempotencyKey,
    LinkVisit,
    ModelRoute,
    Output,
    ProviderAccount,
    ProviderEstimate,
    ShareLink,
    StatusEvent,
    StrayRequest,
    Upload,
    WebhookDelivery,
)


class ProviderAccountForm(forms.ModelForm):
    """The secret is never shown again once saved; leaving it empty keeps the stored one."""

    key_secret = forms.CharField(required=False, widget=forms.PasswordInput(render_value=False),
                                 help_text="Key secret, Bearer token or subscription key. Leave empty to keep "
                                           "the stored one.")

    class Meta:
        model = ProviderAccount
        fields = ["name", "surface", "base_url", "key_id", "key_secret", "from_env", "concurrency_limit",
                  "is_default", "active"]

    def clean_key_secret(self):
        return self.cleaned_data["key_secret"] or (self.instance.key_secret if self.instance.pk else "")


@admin.register(ProviderAccount)
class ProviderAccountAdmin(admin.ModelAdmin):
    form = ProviderAccountForm
    list_display = ["name", "surface", "base_url", "concurrency_limit", "is_default", "active", "from_env"]


@admin.register(ModelRoute)
class ModelRouteAdmin(admin.ModelAdmin):
    """Also on the Providers pages, which offer only accounts that can run each model."""

    list_display = ["model_id", "account"]


@admin.register(HistoryImport)
class HistoryImportAdmin(admin.ModelAdmin):
    list_display = ["account", "owner", "project", "status", "pages", "added", "known", "skipped", "created_at"]
    list_filter = ["status"]
    readonly_fields = ["pages", "seen", "added", "known", "skipped", "error", "created_at", "updated_at",
                       "finished_at"]


@admin.register(Upload)
class UploadAdmin(admin.ModelAdmin):
    list_display = ["original_name", "kind", "owner", "content_type", "size", "created_at"]
    list_filter = ["kind"]
    readonly_fields = ["token"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["key_hash", "prefix", "created_at", "last_used_at"]

    def has_add_permission(self, request):
        return False  # tokens are shown once when made: `manage.py apitoken` or the profile page


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(admin.ModelAdmin):
    """What a repeated request was answered with; read-only, forgotten after a day."""

    list_display = ["key", "kind", "user", "generation", "created_at"]
    list_filter = ["kind"]
    readonly_fields = ["user", "kind", "key", "fingerprint", "generation", "created_at"]

    def has_add_permission(self, request):
        return False


class OutputInline(admin.TabularInline):
    model = Output
    extra = 0
    readonly_fields = ["kind", "provider_url", "file", "archived_at", "error"]


class StatusEventInline(admin.TabularInline):
    model = StatusEvent
    extra = 0
    readonly_fields = ["from_status", "to_status", "source", "detail", "at"]


@admin.register(Generation)
class GenerationAdmin(admin.ModelAdmin):
    list_display = ["id", "model_id", "owner", "project", "status", "created_at", "quarantined_at", "deleted_at"]
    list_filter = ["status", "model_id", "project"]
    search_fields = ["id", "request_id", "params"]
    inlines = [OutputInline, StatusEventInline]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["webhook_id", "surface", "request_id", "signed", "received_at"]
    readonly_fields = ["webhook_id", "surface", "request_id", "payload", "received_at", "signed"]


@admin.register(StrayRequest)
class StrayRequestAdmin(admin.ModelAdmin):
    """Possible double charges (also on the reconciliation page)."""

    list_display = ["request_id", "generation", "surface", "status", "confirmed", "seen_at"]
    list_filter = ["confirmed", "surface"]
    readonly_fields = ["generation", "surface", "request_id", "status", "confirmed", "payload", "seen_at"]


@admin.register(ProviderEstimate)
class ProviderEstimateAdmin(admin.ModelAdmin):
    """The provider's own prices as the worker last read them (generations/pricing.py)."""

    list_display = ["model_id", "account", "credits", "usd", "fetched_at"]
    list_filter = ["account"]
    readonly_fields = ["account", "model_id", "params_key", "credits", "usd", "fetched_at"]


class GalleryItemInline(admin.TabularInline):
    model = GalleryItem
    extra = 0
    raw_id_fields = ["generation", "output"]
    readonly_fields = ["added_by", "added_at"]


@admin.register(Gallery)
class GalleryAdmin(admin.ModelAdmin):
    list_display = ["name", "project", "created_by", "created_at"]
    list_filter = ["project"]
    filter_horizontal = ["clients"]
    inlines = [GalleryItemInline]


@admin.register(ShareLink)
class ShareLinkAdmin(admin.ModelAdmin):
    """The password is only ever set from the gallery page (it is stored hashed)."""

    list_display = ["__str__", "gallery", "expires_at", "revoked_at", "allow_downloads", "show_settings"]
    exclude = ["password"]
    readonly_fields = ["token", "prefix", "created_by", "created_at"]


@admin.register(LinkVisit)
class LinkVisitAdmin(admin.ModelAdmin):
    list_display = ["at", "link", "event", "address", "detail"]
    list_filter = ["event"]
    readonly_fields = ["link", "event", "at", "address", "user_agent", "detail"]


@admin.register(Feedback)
class FeedbackAdmin(admin.ModelAdmin):
    list_display = ["updated_at", "name", "item", "verdict", "favourite"]
    list_filter = ["verdict", "favourite"]
