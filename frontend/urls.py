from django.urls import path

from frontend import views

app_name = "frontend"

urlpatterns = [
    path("", views.home, name="home"),
    path("logout/", views.sign_out, name="logout"),
    path("conversations/<uuid:conversation_id>/", views.conversation, name="conversation"),
]
