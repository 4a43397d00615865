from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path

from generations import api
from generations import views as g

urlpatterns = [
    path("", g.gallery, name="gallery"),
    path("generations/new/", g.generation_create, name="generation-create"),
    path("studio/form/", g.studio_form, name="studio-form"),
    path("studio/cost/", g.studio_cost, name="studio-cost"),
    path("sweeps/<uuid:pk>/", g.sweep, name="sweep"),
    path("g/<uuid:pk>/", g.generation_detail, name="generation-detail"),
    path("g/<uuid:pk>/card/", g.generation_card, name="generation-card"),
    path("files/<int:pk>/", g.output_file, name="output-file"),
    path("files/<int:pk>/thumb/", g.output_file, {"variant": "thumb"}, name="output-thumb"),
    path("uploads/<int:pk>/", g.upload_file, name="upload-file"),
    path("u/<str:token>/", g.upload_public, name="upload-public"),
    path("profile/", g.profile, name="profile"),
    path("api/models", api.models, name="api-models"),
    path("api/generations", api.generation_create, name="api-generations"),
    path("api/generations/<uuid:pk>", api.generation_detail, name="api-generation"),
    path("api/generations/<uuid:pk>/cancel", api.generation_cancel, name="api-generation-cancel"),
    path("api/outputs/<int:pk>", api.output_file, name="api-output"),
    path("webhooks/higgsfield/", g.higgsfield_webhook, name="webhook-higgsfield"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
]
