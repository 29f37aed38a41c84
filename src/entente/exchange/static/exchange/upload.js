/* Upload progress for forms marked data-upload-progress.
 *
 * The form is sent with XMLHttpRequest so that a <progress> element can follow the upload
 * (xhr.upload.onprogress). On success the server answers with an X-Entente-Redirect header and
 * the browser goes there; a form shown again with errors replaces the page in place. Without
 * JavaScript the form is an ordinary multipart POST and works the same way.
 * Self-hosted, no inline code: the Content-Security-Policy allows scripts from our origin only.
 */
(function () {
  "use strict";

  function percent(loaded, total) {
    return Math.floor((100 * loaded) / total) + "%";
  }

  function showPage(html) {
    var parsed = new DOMParser().parseFromString(html, "text/html");
    document.title = parsed.title;
    document.body.replaceWith(document.adoptNode(parsed.body));
    bind(document);
    window.scrollTo(0, 0);
  }

  function send(form) {
    var progress = form.querySelector("progress");
    var status = form.querySelector("[data-upload-status]");
    var buttons = form.querySelectorAll("button[type=submit]");
    var xhr = new XMLHttpRequest();

    function busy(on) {
      buttons.forEach(function (b) { b.disabled = on; });
      if (progress) { progress.hidden = !on; }
    }

    xhr.open("POST", form.action || window.location.href);
    xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
    xhr.upload.onprogress = function (event) {
      if (!event.lengthComputable || !progress) { return; }
      progress.max = event.total;
      progress.value = event.loaded;
      if (status) { status.textContent = percent(event.loaded, event.total); }
    };
    xhr.onload = function () {
      var target = xhr.getResponseHeader("X-Entente-Redirect");
      if (xhr.status === 413) {
        // Too large: keep the form as typed and say why (the server read none of it).
        busy(false);
        if (status) { status.textContent = xhr.responseText; }
        return;
      }
      if (target) {
        window.location.assign(target);
      } else {
        showPage(xhr.responseText);
      }
    };
    xhr.onerror = xhr.onabort = function () {
      busy(false);
      if (status) { status.textContent = form.getAttribute("data-error-text") || "Upload failed."; }
    };
    busy(true);
    if (progress) { progress.value = 0; }
    xhr.send(new FormData(form));
  }

  function bind(root) {
    root.querySelectorAll("form[data-upload-progress]").forEach(function (form) {
      if (form.dataset.uploadBound) { return; }
      form.dataset.uploadBound = "1";
      form.addEventListener("submit", function (event) {
        if (!window.FormData || !window.XMLHttpRequest || !window.DOMParser) { return; }
        event.preventDefault();
        send(form);
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { bind(document); });
  } else {
    bind(document);
  }
}());
