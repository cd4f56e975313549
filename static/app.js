// Mandate's only script. Everything works without it; it adds:
// 1. a question before destructive actions (forms marked data-confirm);
// 2. a progress bar for uploads (forms marked data-upload="progress");
// 3. print buttons (marked data-print, hidden until this script shows them);
// 4. a folded edit form opens when the address asks for it (#edit), and a
//    meeting's second step opens once the day it was held is entered;
// 5. person fields (data-people) search the directory as one types;
// 6. passkeys (forms marked data-passkey).
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (!form.getAttribute) return;
  var question = form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
    return;
  }
  if (form.getAttribute("data-upload") === "progress" && window.XMLHttpRequest && window.FormData) {
    event.preventDefault();
    upload(form);
  }
});

function upload(form) {
  var box = form.querySelector(".progress");
  var bar = box && box.querySelector("progress");
  var text = box && box.querySelector(".progress-text");
  var button = form.querySelector("button[type=submit]");
  var file = form.querySelector("input[type=file]");
  var max = parseInt(form.getAttribute("data-max-bytes") || "0", 10);
  if (file && file.files && file.files[0] && max && file.files[0].size > max) {
    if (text) { box.hidden = false; text.textContent = "This file is larger than the " + Math.ceil(max / 1048576) + " MiB the server accepts."; }
    return;
  }
  var xhr = new XMLHttpRequest();
  xhr.open("POST", form.action);
  xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
  xhr.upload.addEventListener("progress", function (e) {
    if (!e.lengthComputable || !bar) return;
    var percent = Math.floor((e.loaded / e.total) * 100);
    bar.value = percent;
    text.textContent = percent < 100 ? "Uploading… " + percent + "%" : "Checking and saving…";
  });
  xhr.addEventListener("load", function () {
    var type = xhr.getResponseHeader("Content-Type") || "";
    if (xhr.status === 200 && type.indexOf("application/json") === 0) {
      window.location.assign(JSON.parse(xhr.responseText).location);
      return;
    }
    // An error page (too large, wrong type, a form error): show it as it is.
    var page = new DOMParser().parseFromString(xhr.responseText, "text/html");
    document.title = page.title;
    document.body.replaceWith(page.body);
  });
  xhr.addEventListener("error", function () {
    if (button) button.disabled = false;
    if (text) text.textContent = "The upload failed: the connection was lost. Try again.";
  });
  if (box) box.hidden = false;
  if (text) text.textContent = "Uploading…";
  if (button) button.disabled = true;
  xhr.send(new FormData(form));
}

document.addEventListener("DOMContentLoaded", function () {
  var held = document.getElementById("f-held_on"), step = document.getElementById("held-step");
  if (held && step) {
    held.addEventListener("change", function () { if (held.value) { step.open = true; } });
  }
  var edit = window.location.hash === "#edit" && document.getElementById("edit");
  if (edit && edit.tagName === "DETAILS") { edit.open = true; }
  document.querySelectorAll("button[data-print]").forEach(function (b) {
    b.hidden = false;
    b.addEventListener("click", function () { window.print(); });
  });
});

// Fills a person field's suggestions from GET /people/search as one types.
// Listens on the document, so fields of a page swapped in after an upload
// error search too.
var peopleTimer = null, peopleAsked = {};
document.addEventListener("input", function (event) {
  var input = event.target;
  if (!input.hasAttribute || !input.hasAttribute("data-people") || !window.fetch) return;
  var list = document.getElementById(input.getAttribute("list"));
  var q = input.value.trim();
  window.clearTimeout(peopleTimer);
  if (!list || q.length < 2 || q === peopleAsked[input.id] || q.indexOf("<") >= 0) return;
  peopleTimer = window.setTimeout(function () {
    fetch("/people/search?q=" + encodeURIComponent(q), { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (found) {
        if (!found || input.value.trim() !== q) return;
        peopleAsked[input.id] = q;
        list.replaceChildren.apply(list, found.map(function (p) {
          var o = document.createElement("option");
          o.value = p.label;
          o.textContent = p.detail;
          return o;
        }));
      })
      .catch(function () {});
  }, 150);
});

// 6. Passkeys: a form marked data-passkey="create" or "get" first asks the
//    server for the ceremony's options (data-options, posted with the form's
//    fields), lets the browser talk to the authenticator, then sends the form
//    with the ceremony's id and the authenticator's answer filled in.
document.addEventListener("submit", function (event) {
  var form = event.target;
  var mode = form.getAttribute && form.getAttribute("data-passkey");
  if (!mode || event.defaultPrevented) return;
  event.preventDefault();
  var error = form.querySelector("[data-passkey-error]");
  var say = function (message) {
    if (error) { error.hidden = false; error.textContent = message; }
  };
  if (!window.PublicKeyCredential || !PublicKeyCredential.parseRequestOptionsFromJSON) {
    say("This browser cannot use passkeys. Use another sign-in method, or a current browser.");
    return;
  }
  var token = form.querySelector("input[name=csrf_token]");
  var body = new URLSearchParams(new FormData(form));
  fetch(form.getAttribute("data-options"), {
    method: "POST",
    credentials: "same-origin",
    headers: { "x-csrf-token": token ? token.value : "", "content-type": "application/x-www-form-urlencoded" },
    body: body.toString()
  }).then(function (response) {
    if (!response.ok) throw new Error("options " + response.status);
    return response.json();
  }).then(function (options) {
    var call = mode === "create"
      ? navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options.publicKey) })
      : navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options.publicKey) });
    return call.then(function (credential) {
      form.querySelector("input[name=" + (form.getAttribute("data-ceremony-field") || "ceremony") + "]").value = options.ceremony;
      form.querySelector("input[name=" + (form.getAttribute("data-credential-field") || "credential") + "]").value = JSON.stringify(credential.toJSON());
      form.submit();
    });
  }).catch(function (e) {
    say(e && e.name === "NotAllowedError"
      ? "The passkey request was cancelled or timed out. Try again."
      : "The passkey could not be used. Try again, or use another sign-in method.");
  });
});
