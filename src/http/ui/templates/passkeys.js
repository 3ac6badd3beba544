// Passkeys on gatehouse's hosted pages. Served from this server, so the pages' CSP
// (script-src 'self') allows it; nothing on a page is inline.
//
// A form marked data-passkey ("login", "register", "confirm" for a step-up, "mfa" for the MFA
// step) is an ordinary form with two hidden fields, ceremony_id and credential. This script runs the WebAuthn ceremony when the
// form is sent, fills those fields with the browser's answer (binary fields base64url, as
// the API takes them) and sends the form on. Without this script, or without WebAuthn, the
// form still posts and the server says what is missing.
(function () {
  "use strict";

  function toBytes(text) {
    var b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) b64 += "=";
    var raw = atob(b64);
    var out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out.buffer;
  }

  function toText(buffer) {
    if (!buffer) return null;
    var bytes = new Uint8Array(buffer);
    var raw = "";
    for (var i = 0; i < bytes.length; i++) raw += String.fromCharCode(bytes[i]);
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function withIds(list) {
    return (list || []).map(function (c) {
      return Object.assign({}, c, { id: toBytes(c.id) });
    });
  }

  function creationOptions(options) {
    var pk = Object.assign({}, options.publicKey);
    pk.challenge = toBytes(pk.challenge);
    pk.user = Object.assign({}, pk.user, { id: toBytes(pk.user.id) });
    pk.excludeCredentials = withIds(pk.excludeCredentials);
    return { publicKey: pk };
  }

  function requestOptions(options) {
    var pk = Object.assign({}, options.publicKey);
    pk.challenge = toBytes(pk.challenge);
    pk.allowCredentials = withIds(pk.allowCredentials);
    return { publicKey: pk };
  }

  function answer(credential) {
    var r = credential.response;
    var out = {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      extensions: credential.getClientExtensionResults ? credential.getClientExtensionResults() : {},
    };
    if (r.attestationObject) {
      out.response = {
        attestationObject: toText(r.attestationObject),
        clientDataJSON: toText(r.clientDataJSON),
        transports: r.getTransports ? r.getTransports() : [],
      };
    } else {
      out.response = {
        authenticatorData: toText(r.authenticatorData),
        clientDataJSON: toText(r.clientDataJSON),
        signature: toText(r.signature),
        userHandle: toText(r.userHandle),
      };
    }
    return JSON.stringify(out);
  }

  async function started(response) {
    var body = await response.json();
    if (!response.ok) throw new Error(body.detail || response.statusText);
    return body;
  }

  // Where a form's ceremony comes from: the options the server put on the form when it
  // rendered it (adding a passkey, step-up), or a start request made now (a sign-in, named by
  // the typed address or username if any; the MFA step, with the form's CSRF token).
  async function ceremonyOf(form) {
    if (form.dataset.options) {
      return { ceremony_id: form.dataset.ceremony, options: JSON.parse(form.dataset.options) };
    }
    if (form.dataset.passkey === "login") {
      var typed = document.getElementById("identifier");
      var identifier = typed ? typed.value.trim() : "";
      return started(await fetch("/api/auth/passkeys/login/start", {
        method: "POST",
        headers: { "content-type": "application/json" },
        credentials: "same-origin",
        body: JSON.stringify(identifier ? { identifier: identifier } : {}),
      }));
    }
    return started(await fetch(form.dataset.start, {
      method: "POST",
      credentials: "same-origin",
      body: new URLSearchParams({ csrf: form.elements.csrf.value }),
    }));
  }

  async function run(form) {
    var ceremony = await ceremonyOf(form);
    var credential = form.dataset.passkey === "register"
      ? await navigator.credentials.create(creationOptions(ceremony.options))
      : await navigator.credentials.get(requestOptions(ceremony.options));
    return { ceremony: ceremony.ceremony_id, credential: credential };
  }

  // The message goes where a refused form's would: an alert above the button.
  function show(form, message) {
    var slot = form.querySelector("[data-passkey-error]");
    if (!slot) {
      slot = document.createElement("p");
      slot.className = "error";
      slot.setAttribute("role", "alert");
      slot.setAttribute("data-passkey-error", "");
      form.insertBefore(slot, form.querySelector("button[type=submit]"));
    }
    slot.textContent = message;
  }

  function enhance(form) {
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      if (!window.PublicKeyCredential || !navigator.credentials) {
        show(form, form.dataset.unsupported);
        return;
      }
      var button = form.querySelector("button[type=submit]");
      if (button) button.disabled = true;
      try {
        var done = await run(form);
        form.elements.ceremony_id.value = done.ceremony;
        form.elements.credential.value = answer(done.credential);
        form.submit();
      } catch (e) {
        // NotAllowedError: the prompt was closed, timed out, or no passkey matched.
        show(form, e && e.name === "NotAllowedError" ? form.dataset.cancelled : (e && e.message) || form.dataset.cancelled);
        if (button) button.disabled = false;
      }
    });
  }

  document.querySelectorAll("form[data-passkey]").forEach(enhance);
})();
