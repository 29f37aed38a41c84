from django.urls import path

from entente.exchange import views

app_name = "exchange"
urlpatterns = [
    path("documents/", views.document_list, name="documents"),
    path("documents/new/", views.document_create, name="document_new"),
    path("documents/<str:document_id>/", views.document_detail, name="document"),
    path("documents/<str:document_id>/versions/<int:number>/", views.version_detail,
         name="version"),
    path("documents/<str:document_id>/new-version/", views.version_create, name="version_new"),
    path("documents/<str:document_id>/pdf", views.document_pdf, name="document_pdf"),
    path("documents/<str:document_id>/release/", views.release_request_create,
         name="release_new"),
    path("documents/<str:document_id>/downgrade/", views.downgrade_request_create,
         name="downgrade_new"),
    path("attachments/<str:attachment_id>/", views.attachment_download, name="attachment"),
    path("transmissions/", views.transmission_list, name="transmissions"),
    path("transmissions/new/", views.transmission_create, name="transmission_new"),
    path("transmissions/<str:transmission_id>/", views.transmission_detail, name="transmission"),
    path("transmissions/<str:transmission_id>/acknowledge/", views.transmission_acknowledge,
         name="transmission_acknowledge"),
    path("requests/", views.request_list, name="requests"),
    path("requests/<str:kind>/<str:request_id>/decide/", views.request_decide,
         name="request_decide"),
    path("requests/<str:kind>/<str:request_id>/withdraw/", views.request_withdraw,
         name="request_withdraw"),
    path("loss-reports/", views.loss_report_list, name="loss_reports"),
    path("loss-reports/new/", views.loss_report_create, name="loss_report_new"),
    path("loss-reports/<str:report_id>/", views.loss_report_detail, name="loss_report"),
    path("notifications/", views.notification_list, name="notifications"),
    path("notifications/<int:notification_id>/read/", views.notification_read,
         name="notification_read"),
    path("register/", views.register, name="register"),
    path("register.csv", views.register_download, name="register_csv"),
]
