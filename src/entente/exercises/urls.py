from django.urls import path

from entente.exercises import views

app_name = "exercises"
urlpatterns = [
    path("exercises/", views.exercise_list, name="exercises"),
    path("exercises/new/", views.exercise_create, name="exercise_new"),
    path("exercises/overdue/", views.overdue, name="overdue"),
    path("exercises/calendar/", views.calendar, name="calendar"),
    path("exercises/calendar.ics", views.calendar_ics, name="calendar_ics"),
    path("exercises/exchanges/", views.exchange_list, name="exchanges"),
    path("exercises/exchanges/new/", views.exchange_create, name="exchange_new"),
    path("exercises/<str:key>/", views.exercise_detail, name="exercise"),
    path("exercises/<str:key>/approve/", views.exercise_approve, name="approve"),
    path("exercises/<str:key>/plan/", views.exercise_plan, name="plan"),
    path("exercises/<str:key>/execute/", views.exercise_execute, name="execute"),
    path("exercises/<str:key>/complete/", views.exercise_complete, name="complete"),
    path("exercises/<str:key>/cancel/", views.exercise_cancel, name="cancel"),
    path("exercises/<str:key>/locations/", views.location_add, name="location_add"),
    path("exercises/<str:key>/units/", views.unit_set, name="unit_set"),
    path("exercises/<str:key>/units/<str:unit_id>/remove/", views.unit_remove,
         name="unit_remove"),
    path("exercises/<str:key>/milestones/", views.milestone_add, name="milestone_add"),
    path("exercises/<str:key>/milestones/<str:milestone_id>/done/", views.milestone_done,
         name="milestone_done"),
    path("exercises/<str:key>/conference-visits/", views.conference_visit,
         name="conference_visit"),
]
