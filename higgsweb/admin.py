from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from higgsweb.models import Project, User


@admin.register(User)
class HiggswebUserAdmin(UserAdmin):
    list_display = ["username", "email", "role", "is_active", "last_login"]
    list_filter = ["role", "is_active"]
    fieldsets = UserAdmin.fieldsets + (("Role", {"fields": ["role"]}),)
    add_fieldsets = UserAdmin.add_fieldsets + (("Role", {"fields": ["role"]}),)


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "archived", "created_at"]
    filter_horizontal = ["clients"]
