from django.contrib import admin

from generations.models import Generation, Output, ProviderAccount, StatusEvent, WebhookDelivery


@admin.register(ProviderAccount)
class ProviderAccountAdmin(admin.ModelAdmin):
    list_display = ["name", "surface", "base_url", "concurrency_limit", "is_default", "active", "from_env"]


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
    list_display = ["id", "model_id", "owner", "project", "status", "created_at", "quarantined_at"]
    list_filter = ["status", "model_id", "project"]
    search_fields = ["id", "request_id", "params"]
    inlines = [OutputInline, StatusEventInline]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["webhook_id", "surface", "request_id", "received_at"]
    readonly_fields = ["webhook_id", "surface", "request_id", "payload", "received_at"]
