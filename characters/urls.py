from django.urls import path

from characters import views as v

urlpatterns = [
    path("", v.character_list, name="character-list"),
    path("new/", v.character_create, name="character-create"),
    path("<uuid:pk>/", v.character_detail, name="character-detail"),
    path("<uuid:pk>/card/", v.character_card, name="character-card"),
    path("<uuid:pk>/delete/", v.character_delete, name="character-delete"),
    path("<uuid:pk>/retrain/", v.character_retrain, name="character-retrain"),
    path("<uuid:pk>/thumbnail/", v.character_thumbnail, name="character-thumbnail"),
    path("<uuid:pk>/photos/<int:position>/", v.character_photo, name="character-photo"),
    path("p/<str:token>/", v.photo_public, name="character-photo-public"),
    path("pick/styles/", v.style_picker, name="style-picker"),
    path("pick/motions/", v.motion_picker, name="motion-picker"),
    path("pick/characters/", v.character_picker, name="character-picker"),
]
