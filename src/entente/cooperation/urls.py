from django.urls import path

from entente.cooperation import views

app_name = "cooperation"
urlpatterns = [
    path("projects/", views.project_list, name="projects"),
    path("projects/new/", views.project_create, name="project_new"),
    path("projects/dashboard/", views.dashboard, name="dashboard"),
    path("projects/<str:key>/", views.project_detail, name="project"),
    path("projects/<str:key>/participants/", views.participant_add, name="participant_add"),
    path("projects/<str:key>/participants/<int:participant_id>/remove/",
         views.participant_remove, name="participant_remove"),
    path("projects/<str:key>/members/", views.member_add, name="member_add"),
    path("projects/<str:key>/members/remove/", views.member_remove, name="member_remove"),
    path("projects/<str:key>/cost-shares/", views.cost_shares, name="cost_shares"),
    path("projects/<str:key>/milestones/", views.milestone_add, name="milestone_add"),
    path("projects/<str:key>/milestones/<str:milestone_id>/done/", views.milestone_done,
         name="milestone_done"),
    path("projects/<str:key>/security-instruction/", views.security_instruction,
         name="security_instruction"),
    path("projects/<str:key>/guide/", views.guide_add, name="guide_add"),
    path("projects/<str:key>/documents/new/", views.project_document_create,
         name="project_document_new"),
    path("panel/", views.panel, name="panel"),
    path("panel/meetings/new/", views.meeting_create, name="meeting_new"),
    path("panel/meetings/<str:meeting_id>/", views.meeting_detail, name="meeting"),
    path("panel/meetings/<str:meeting_id>/attendance/", views.attendance, name="attendance"),
    path("panel/meetings/<str:meeting_id>/agenda/", views.agenda_add, name="agenda_add"),
    path("panel/meetings/<str:meeting_id>/agenda/<str:item_id>/decision/", views.decision_add,
         name="decision_add"),
    path("panel/meetings/<str:meeting_id>/actions/", views.action_add, name="action_add"),
    path("panel/meetings/<str:meeting_id>/actions/<str:action_id>/close/", views.action_close,
         name="action_close"),
    path("panel/meetings/<str:meeting_id>/minutes/", views.minutes_write, name="minutes_write"),
    path("panel/meetings/<str:meeting_id>/minutes/approve/", views.minutes_approve,
         name="minutes_approve"),
]
