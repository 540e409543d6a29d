/* Progressive enhancement only: every page works without this file. */
(function () {
  "use strict";
  // Drag and drop onto the upload field: the dropped files become the input's files.
  document.querySelectorAll("[data-dropzone]").forEach(function (zone) {
    var input = zone.querySelector("input[type=file]");
    var list = zone.querySelector("[data-filelist]");
    if (!input) { return; }
    function show() {
      if (!list) { return; }
      list.textContent = Array.prototype.map.call(input.files, function (f) { return f.name; }).join(", ");
    }
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (event) { event.preventDefault(); zone.classList.add("dragover"); });
    });
    ["dragleave", "drop"].forEach(function (name) {
      zone.addEventListener(name, function () { zone.classList.remove("dragover"); });
    });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      if (event.dataTransfer && event.dataTransfer.files.length) {
        input.files = event.dataTransfer.files;
        show();
      }
    });
    input.addEventListener("change", show);
  });
  // Pages waiting for a verdict poll quietly and load the answer once it is there (no reload loop that
  // would move the reader's focus); after two minutes they stop and the manual link remains.
  var waiting = document.querySelector("[data-autorefresh]");
  if (waiting && window.fetch) {
    var seconds = parseInt(waiting.getAttribute("data-autorefresh"), 10) || 3;
    var target = new URL(waiting.getAttribute("data-url") || window.location.href, window.location.href).toString();
    var tries = 0;
    var timer = window.setInterval(function () {
      tries += 1;
      if (tries > 120 / seconds) { window.clearInterval(timer); return; }
      window.fetch(target, {credentials: "same-origin"}).then(function (response) {
        return response.ok ? response.text() : "data-autorefresh";
      }).then(function (html) {
        if (html.indexOf("data-autorefresh") === -1) {
          window.clearInterval(timer);
          window.location.assign(target);
        }
      }).catch(function () { /* offline for a moment: try again next round */ });
    }, seconds * 1000);
  }
  // Confirm destructive actions (reject) when the button asks for it.
  document.querySelectorAll("[data-confirm]").forEach(function (button) {
    button.addEventListener("click", function (event) {
      if (!window.confirm(button.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });
}());
