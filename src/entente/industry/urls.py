from django.urls import path

from entente.industry import views

app_name = "industry"
urlpatterns = [
    path("industry/facilities/", views.facility_register, name="facilities"),
    path("industry/organisations/<str:code>/facilities/", views.organisation_facilities,
         name="organisation_facilities"),
    path("industry/facilities/<str:facility_id>/revoke/", views.facility_revoke,
         name="facility_revoke"),
    path("industry/visits/", views.visit_list, name="visits"),
    path("industry/visits/new/", views.visit_create, name="visit_new"),
    path("industry/visits/by-day/", views.visits_by_day, name="visits_by_day"),
    path("industry/visits/<str:visit_id>/", views.visit_detail, name="visit"),
    path("industry/visits/<str:visit_id>/assure/", views.visit_assure, name="visit_assure"),
    path("industry/visits/<str:visit_id>/approve/", views.visit_approve, name="visit_approve"),
    path("industry/visits/<str:visit_id>/refuse/", views.visit_refuse, name="visit_refuse"),
    path("industry/visits/<str:visit_id>/review/", views.visit_review, name="visit_review"),
    path("industry/visits/<str:visit_id>/withdraw/", views.visit_withdraw,
         name="visit_withdraw"),
]
