from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from generations import api
from generations import views as g
from higgsweb import audit, health
from higgsweb import views as h

urlpatterns = [
    path("", g.gallery, name="gallery"),
    path("generations/new/", g.generation_create, name="generation-create"),
    path("studio/form/", g.studio_form, name="studio-form"),
    path("studio/cost/", g.studio_cost, name="studio-cost"),
    path("sweeps/<uuid:pk>/", g.sweep, name="sweep"),
    path("g/<uuid:pk>/", g.generation_detail, name="generation-detail"),
    path("g/<uuid:pk>/card/", g.generation_card, name="generation-card"),
    path("g/<uuid:pk>/cancel/", g.generation_cancel, name="generation-cancel"),
    path("g/<uuid:pk>/retry/", g.generation_retry, name="generation-retry"),
    path("files/<int:pk>/", g.output_file, name="output-file"),
    path("files/<int:pk>/thumb/", g.output_file, {"variant": "thumb"}, name="output-thumb"),
    path("characters/", include("characters.urls")),
    path("uploads/<int:pk>/", g.upload_file, name="upload-file"),
    path("u/<str:token>/", g.upload_public, name="upload-public"),
    path("profile/", g.profile, name="profile"),
    path("api/models", api.models, name="api-models"),
    path("api/generations", api.generation_create, name="api-generations"),
    path("api/generations/<uuid:pk>", api.generation_detail, name="api-generation"),
    path("api/generations/<uuid:pk>/cancel", api.generation_cancel, name="api-generation-cancel"),
    path("api/outputs/<int:pk>", api.output_file, name="api-output"),
    path("webhooks/higgsfield/", g.higgsfield_webhook, name="webhook-higgsfield"),
    path("webhooks/v1/<uuid:pk>/", g.v1_webhook, name="webhook-v1"),
    path("webhooks/pixazo/<uuid:pk>/<str:token>/", g.pixazo_webhook, name="webhook-pixazo"),
    path("audit/", audit.audit, name="audit"),
    path("audit/ledger.csv", audit.audit_csv, name="audit-csv"),
    path("audit/g/<uuid:pk>/", audit.audit_generation, name="audit-generation"),
    path("audit/reconciliation/", audit.reconciliation, name="audit-reconciliation"),
    path("audit/reconciliation/<uuid:pk>/resolve/", audit.reconciliation_resolve, name="audit-resolve"),
    path("health/", health.health, name="health"),
    path("healthz", health.healthz, name="healthz"),
    path("notifications/", h.notifications, name="notifications"),
    path("notifications/read/", h.notifications_read, name="notifications-read"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
]
