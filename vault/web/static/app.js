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
  // Resumable uploads (vendored tus-js-client, /static/tus.min.js): the picked files go
  // through /api/v1/uploads in pieces; a lost connection pauses them and they go on by
  // themselves when it is back; a reload offers to continue an unfinished one. The paper is
  // then made from the finished uploads' ids by the page's own form.
  var tusReady = !!(window.tus && window.tus.isSupported);
  var ENDPOINT = "/api/v1/uploads";
  var MIB = 1048576;
  var lang = document.documentElement.lang || "vi";
  function mb(bytes) {
    return (bytes / MIB).toLocaleString(lang, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
  }
  // What the browser keeps to offer to continue an unfinished upload after a reload names
  // neither the file nor its metadata: on a shared computer (the one-stop counter's) the next
  // person would read it. The file picked again is known by its type, size and modification
  // time; the name the offer shows is asked of the server, which answers only the upload's owner.
  var FINGERPRINT = "vault-1-";
  function fingerprint(file) {
    return Promise.resolve(FINGERPRINT + [file.type, file.size, file.lastModified].join("-"));
  }
  var kept = tusReady ? window.tus.defaultOptions.urlStorage : null;
  var urlStorage = {
    findAllUploads: function () { return kept.findAllUploads(); },
    findUploadsByFingerprint: function (f) { return kept.findUploadsByFingerprint(f); },
    removeUpload: function (key) { return kept.removeUpload(key); },
    addUpload: function (f, upload) {
      return kept.addUpload(f, { size: upload.size, creationTime: upload.creationTime, uploadUrl: upload.uploadUrl });
    }
  };
  function filename(header) {
    var pair = (header || "").split(",").map(function (p) { return p.trim().split(" "); })
      .filter(function (p) { return p[0] === "filename" && p[1]; })[0];
    if (!pair) { return ""; }
    var bytes = Uint8Array.from(atob(pair[1]), function (c) { return c.charCodeAt(0); });
    return new TextDecoder().decode(bytes);
  }
  function retryDelays() {
    var delays = [0, 500, 1000, 2000, 3000];
    for (var i = 0; i < 40; i++) { delays.push(5000); }
    return delays;
  }
  function resumable(form) {
    var box = form.querySelector("fieldset.files");
    var bar = form.querySelector("progress");
    var status = form.querySelector("[data-upload-status]");
    var offer = form.querySelector("[data-resume-offer]");
    var csrf = form.querySelector("input[name=csrf]").value;
    var buttons = form.querySelectorAll("button[type=submit]");
    var running = null;
    var offline = !navigator.onLine;
    function text(name, values) {
      var t = box.getAttribute("data-text-" + name) || "";
      Object.keys(values || {}).forEach(function (k) { t = t.split("{" + k + "}").join(values[k]); });
      return t;
    }
    function say(message) { status.hidden = false; status.textContent = message; }
    function busy(on) { Array.prototype.forEach.call(buttons, function (b) { b.disabled = on; }); }
    function tusRequest(method, url) {
      var request = new XMLHttpRequest();
      request.open(method, url);
      request.setRequestHeader("Tus-Resumable", "1.0.0");
      if (method !== "HEAD") { request.setRequestHeader("X-CSRF-Token", csrf); }
      return request;
    }
    window.addEventListener("offline", function () {
      offline = true;
      if (running) { running.abort(); say(text("offline")); }
    });
    window.addEventListener("online", function () {
      var wasOffline = offline;
      offline = false;
      if (wasOffline && running) { running.start(); }
    });
    // An upload left unfinished by a closed page or a restarted phone: offer to continue it.
    // Entries kept before their fingerprint lost the file name are dropped.
    urlStorage.findAllUploads().then(function (stored) {
      stored = stored.filter(function (s) {
        if (s.urlStorageKey.indexOf("tus::" + FINGERPRINT) !== 0) { urlStorage.removeUpload(s.urlStorageKey); return false; }
        return s.uploadUrl && s.uploadUrl.indexOf(ENDPOINT + "/") !== -1;
      });
      if (!stored.length) { return; }
      var first = stored[0];
      var request = tusRequest("HEAD", first.uploadUrl);
      request.addEventListener("load", function () {
        if (request.status !== 200) { urlStorage.removeUpload(first.urlStorageKey); return; }
        var offset = Number(request.getResponseHeader("Upload-Offset")) || 0;
        var name = filename(request.getResponseHeader("Upload-Metadata"));
        offer.querySelector("[data-resume-text]").textContent = text("resume", {
          name: name, total: mb(first.size), percent: Math.floor(100 * offset / (first.size || 1))
        });
        offer.hidden = false;
      });
      request.send();
      offer.querySelector("[data-resume-discard]").addEventListener("click", function () {
        stored.forEach(function (s) {
          tusRequest("DELETE", s.uploadUrl).send();
          urlStorage.removeUpload(s.urlStorageKey);
        });
        offer.hidden = true;
      });
    });
    form.addEventListener("submit", function (event) {
      var files = [];
      form.querySelectorAll("input[type=file][name=file]").forEach(function (input) {
        Array.prototype.forEach.call(input.files, function (f) { files.push(f); });
      });
      if (!files.length) { return; }  // the server says what is missing
      event.preventDefault();
      busy(true);
      var total = files.reduce(function (sum, f) { return sum + f.size; }, 0);
      var done = 0;
      var ids = [];
      bar.hidden = false;
      function show(sent) {
        var percent = total ? Math.floor(100 * sent / total) : 100;
        bar.value = percent;
        say(text("progress", { percent: percent, sent: mb(sent), total: mb(total) }));
      }
      function finish() {
        running = null;
        say(text("saving"));
        var data = new FormData(form);
        data.delete("file");
        ids.forEach(function (id) { data.append("upload_id", id); });
        var request = new XMLHttpRequest();
        request.open("POST", form.action);
        request.addEventListener("load", function () {
          if (request.status < 400 && request.responseURL) { window.location.assign(request.responseURL); return; }
          document.open(); document.write(request.responseText); document.close();
        });
        request.addEventListener("error", function () { say(text("failed")); busy(false); });
        request.send(data);
      }
      function next(index) {
        if (index === files.length) { finish(); return; }
        var file = files[index];
        var resumed = false;
        var upload = new window.tus.Upload(file, {
          endpoint: ENDPOINT,
          chunkSize: 8 * MIB,
          retryDelays: retryDelays(),
          headers: { "X-CSRF-Token": csrf },
          metadata: { filename: file.name, filetype: file.type || "application/octet-stream" },
          fingerprint: fingerprint,
          urlStorage: urlStorage,
          removeFingerprintOnSuccess: true,
          onShouldRetry: function (error) {
            var code = error.originalResponse ? error.originalResponse.getStatus() : 0;
            return !offline && (code === 0 || code >= 500 || code === 409 || code === 423);
          },
          onProgress: function (sent) {
            if (resumed) {
              resumed = false;
              offer.querySelector("[data-resume-text]").textContent = text("resuming", {
                percent: Math.floor(100 * sent / (file.size || 1))
              });
            }
            show(done + sent);
          },
          onError: function () {
            if (offline || !navigator.onLine) { offline = true; say(text("offline")); return; }
            running = null;
            say(text("failed"));
            busy(false);
          },
          onSuccess: function () {
            ids.push(upload.url.split("/").pop());
            done += file.size;
            next(index + 1);
          }
        });
        running = upload;
        // Another file may share the type, size and time the fingerprint keeps: an upload is
        // continued only if the server names it as this file.
        function sameFile(previous) {
          return new Promise(function (resolve) {
            var request = tusRequest("HEAD", previous.uploadUrl);
            request.addEventListener("load", function () {
              resolve(request.status === 200 &&
                filename(request.getResponseHeader("Upload-Metadata")) === file.name);
            });
            request.addEventListener("error", function () { resolve(false); });
            request.send();
          });
        }
        upload.findPreviousUploads().then(function (previous) {
          return previous.length ? sameFile(previous[0]).then(function (same) {
            if (same) { resumed = true; upload.resumeFromPreviousUpload(previous[0]); }
            else { urlStorage.removeUpload(previous[0].urlStorageKey); }
          }) : null;
        }).then(function () {
          if (!offline) { upload.start(); } else { say(text("offline")); }
        });
      }
      next(0);
    });
  }
  if (tusReady) { document.querySelectorAll("form[data-resumable]").forEach(resumable); }
  // Uploads show their progress; the server's answer replaces the page.
  document.querySelectorAll("form[data-upload]").forEach(function (form) {
    if (tusReady && form.hasAttribute("data-resumable")) { return; }
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
