from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from generations import views as g

urlpatterns = [
    path("", g.gallery, name="gallery"),
    path("generations/new/", g.generation_create, name="generation-create"),
    path("g/<uuid:pk>/", g.generation_detail, name="generation-detail"),
    path("g/<uuid:pk>/card/", g.generation_card, name="generation-card"),
    path("files/<int:pk>/", g.output_file, name="output-file"),
    path("files/<int:pk>/thumb/", g.output_file, {"variant": "thumb"}, name="output-thumb"),
    path("characters/", include("characters.urls")),
    path("webhooks/higgsfield/", g.higgsfield_webhook, name="webhook-higgsfield"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
]
