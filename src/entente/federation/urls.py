from django.urls import path

from entente.federation import views

app_name = "federation"
urlpatterns = [
    path("federation/", views.home, name="home"),
    path("federation/identity.json", views.identity_download, name="identity"),
    path("federation/partners/import/", views.partner_import, name="partner_import"),
    path("federation/partners/<str:nation>/log.json", views.partner_log, name="partner_log"),
    path("federation/partners/<str:nation>/reconcile/", views.reconcile, name="reconcile"),
    path("federation/partners/<str:nation>/reconcile/fetch/", views.reconcile_fetch,
         name="reconcile_fetch"),
    path("federation/partners/<str:nation>/reconcile/upload/", views.reconcile_upload,
         name="reconcile_upload"),
    path("federation/partners/<str:nation>/<slug:action>/", views.partner_state,
         name="partner_state"),
    path("federation/packages/", views.sent_list, name="sent_list"),
    path("federation/packages/received/", views.received_list, name="received_list"),
    path("federation/packages/received/<str:package_id>/", views.received_detail,
         name="received"),
    path("federation/packages/received/<str:package_id>/receipt.json", views.received_receipt,
         name="received_receipt"),
    path("federation/packages/<str:package_id>/", views.sent_detail, name="sent"),
    path("federation/packages/<str:package_id>/retry/", views.sent_retry, name="sent_retry"),
    path("federation/packages/<str:package_id>/file/", views.sent_file, name="sent_file"),
    path("federation/courier/", views.courier, name="courier"),
    path("federation/courier/package/", views.courier_package, name="courier_package"),
    path("federation/courier/receipt/", views.courier_receipt, name="courier_receipt"),
]
