from django.urls import path

from frontend import market_views

app_name = "market"

urlpatterns = [
    path("endorse/<str:token>/", market_views.endorse, name="endorse"),
]
