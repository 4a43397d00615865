from django.contrib import admin

from characters.models import Character, CharacterPhoto, Motion, Style


class CharacterPhotoInline(admin.TabularInline):
    model = CharacterPhoto
    extra = 0
    readonly_fields = ["image", "position", "token"]


@admin.register(Character)
class CharacterAdmin(admin.ModelAdmin):
    list_display = ["name", "model_version", "owner", "status", "provider_id", "consent_attested", "created_at"]
    list_filter = ["status", "model_version"]
    search_fields = ["name", "provider_id", "consent_subject"]
    readonly_fields = ["provider_id", "consent_by", "consent_at"]
    inlines = [CharacterPhotoInline]


@admin.register(Style)
class StyleAdmin(admin.ModelAdmin):
    list_display = ["name", "version", "provider_id", "active", "synced_at"]
    list_filter = ["version", "active"]
    search_fields = ["name", "provider_id"]


@admin.register(Motion)
class MotionAdmin(admin.ModelAdmin):
    list_display = ["name", "provider_id", "start_end_frame", "active", "synced_at"]
    list_filter = ["active"]
    search_fields = ["name", "provider_id"]
