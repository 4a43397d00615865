from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from higgsweb.models import Budget, LedgerEntry, Notification, Project, ProviderBalance, User, WorkerHeartbeat


@admin.register(User)
class HiggswebUserAdmin(UserAdmin):
    list_display = ["username", "email", "role", "is_active", "last_login"]
    list_filter = ["role", "is_active"]
    fieldsets = UserAdmin.fieldsets + (("Role", {"fields": ["role"]}),)
    add_fieldsets = UserAdmin.add_fieldsets + (("Role", {"fields": ["role"]}),)


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "archived", "created_at"]


@admin.register(Budget)
class BudgetAdmin(admin.ModelAdmin):
    list_display = ["__str__", "scope", "hard_limit", "soft_limit", "spent", "warned_at"]
    list_filter = ["scope", "month"]
    readonly_fields = ["spent", "warned_at"]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(admin.ModelAdmin):
    """Read-only: the ledger is corrected with new entries (reconciliation), never edited."""

    list_display = ["created_at", "kind", "amount", "user", "project", "model_id", "generation", "character"]
    list_filter = ["kind", "model_id", "project"]
    search_fields = ["generation__id", "generation__request_id", "user__username", "note"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["created_at", "user", "kind", "message", "read_at", "emailed_at"]
    list_filter = ["kind"]


@admin.register(ProviderBalance)
class ProviderBalanceAdmin(admin.ModelAdmin):
    list_display = ["read_at", "account", "credits", "key_valid", "note"]
    readonly_fields = ["account", "credits", "key_valid", "note", "read_at"]


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ("worker", "seen_at")
    readonly_fields = ("worker", "seen_at")

    def has_add_permission(self, request):
        return False
