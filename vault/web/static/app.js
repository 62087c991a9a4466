// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  // Several photos taken one by one become the pages of one paper.
  document.querySelectorAll("input[data-pages]").forEach(function (input) {
    var taken = new DataTransfer();
    input.addEventListener("change", function () {
      Array.prototype.forEach.call(input.files, function (f) { taken.items.add(f); });
      input.files = taken.files;
      var count = input.form.querySelector("[data-page-count]");
      if (count) { count.textContent = taken.files.length + " \u2713"; }
    });
  });
  // Uploads show their progress; the server's answer replaces the page.
  document.querySelectorAll("form[data-upload]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.FormData || !window.XMLHttpRequest) { return; }
      event.preventDefault();
      var bar = form.querySelector("progress");
      var request = new XMLHttpRequest();
      request.open("POST", form.action);
      if (bar) { bar.hidden = false; }
      request.upload.addEventListener("progress", function (e) {
        if (bar && e.lengthComputable) { bar.value = Math.round(100 * e.loaded / e.total); }
      });
      request.addEventListener("load", function () {
        if (request.status < 400 && request.responseURL) { window.location.assign(request.responseURL); return; }
        document.open(); document.write(request.responseText); document.close();
      });
      request.addEventListener("error", function () { form.submit(); });
      Array.prototype.forEach.call(form.querySelectorAll("button"), function (b) { b.disabled = true; });
      request.send(new FormData(form));
    });
  });
  // Recovery codes: a print button where printing can be started from the page.
  document.querySelectorAll("[data-print]").forEach(function (button) {
    if (!window.print) { return; }
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
  // The QR code fills the screen for the officer's scanner.
  document.querySelectorAll("[data-fullscreen]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      var figure = link.closest("figure");
      if (figure && figure.requestFullscreen) { event.preventDefault(); figure.classList.add("full"); figure.requestFullscreen(); }
    });
  });
  document.addEventListener("fullscreenchange", function () {
    if (!document.fullscreenElement) {
      document.querySelectorAll(".qr.full").forEach(function (f) { f.classList.remove("full"); });
    }
  });
  document.querySelectorAll("[data-back]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      if (window.history.length > 1) { event.preventDefault(); window.history.back(); }
    });
  });
})();
