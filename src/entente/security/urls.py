from django.urls import path

from entente.security import views

app_name = "security"
urlpatterns = [path("records/<str:record_id>/", views.record_detail, name="record")]
